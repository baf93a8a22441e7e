//! Online requests staff review (migration 0030, R-R7). The SQL is the same text on both
//! backends (`$n` is SQLite's too).

use gongji_core::pii::PiiField;

use crate::privacy::Mode;
use crate::StoreError;

/// A correction or registration request as stored; `gongji_core::review` says what its
/// fields may hold and how its state moves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReviewRow {
    pub review_id: String,
    /// The applicant, signed in when he asked.
    pub psn_no: String,
    /// `gongji_core::review::ReviewKind::code`.
    pub kind: String,
    /// `gongji_core::review::ReviewState::code`.
    pub state: String,
    /// The name asked: the corrected name ("" keeps it), or the new resident's.
    pub name: String,
    /// The corrected mobile number ("" keeps it); "" for a registration.
    pub phone: String,
    /// The new resident's ID number; "" for a correction.
    pub certno: String,
    /// The new resident's region; "" for a correction.
    pub admdvs: String,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub submitted_at: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    /// Why it was rejected, in the words the applicant reads.
    pub reason: Option<String>,
}

/// Most requests one page lists.
pub const LIST_MAX: i64 = 200;

pub(crate) const SQL_PUT: &str = "INSERT INTO review_requests (review_id, psn_no, kind, state,
        name, phone, certno, admdvs, submitted_at, decided_at, decided_by, reason)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
    ON CONFLICT (review_id) DO UPDATE SET state = excluded.state,
        decided_at = excluded.decided_at, decided_by = excluded.decided_by,
        reason = excluded.reason";

pub(crate) const SQL_OF_PERSON: &str = "SELECT review_id, psn_no, kind, state, name, phone,
        certno, admdvs, submitted_at, decided_at, decided_by, reason
    FROM review_requests WHERE psn_no = $1 ORDER BY submitted_at DESC, review_id DESC LIMIT $2";
pub(crate) const SQL_ONE: &str = "SELECT review_id, psn_no, kind, state, name, phone,
        certno, admdvs, submitted_at, decided_at, decided_by, reason
    FROM review_requests WHERE review_id = $1";
pub(crate) const SQL_STATE: &str = "SELECT state FROM review_requests WHERE review_id = $1";
pub(crate) const SQL_PENDING: &str = "SELECT review_id, psn_no, kind, state, name, phone,
        certno, admdvs, submitted_at, decided_at, decided_by, reason
    FROM review_requests WHERE state = 'pending' ORDER BY submitted_at, review_id LIMIT $1";

/// The phone and ID number a request row stores: sealed under the deployment's key when
/// personal data is encrypted at rest, like a person's (bound to the request's id, since a
/// registration's person has no number yet); as given otherwise. Empty stays empty.
pub(crate) fn stored_pii(mode: &Mode, row: &ReviewRow) -> Result<(String, String), StoreError> {
    let seal = |field, value: &str| -> Result<String, StoreError> {
        if value.is_empty() {
            return Ok(String::new());
        }
        Ok(mode.store(field, &row.review_id, value)?.value)
    };
    Ok((
        seal(PiiField::Phone, &row.phone)?,
        seal(PiiField::CertNo, &row.certno)?,
    ))
}

/// A request row as read back, its phone and ID number opened.
pub(crate) fn opened(mode: &Mode, mut row: ReviewRow) -> Result<ReviewRow, StoreError> {
    row.phone = mode.reveal(PiiField::Phone, &row.review_id, &row.phone)?;
    row.certno = mode.reveal(PiiField::CertNo, &row.review_id, &row.certno)?;
    Ok(row)
}
