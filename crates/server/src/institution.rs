//! `POST /fsi/api/rsfComIfsService/callService[/{infno}]`: the institution interface.
//!
//! Gateway authentication (401 on failure), then the envelope and the transaction's input
//! (infcode -1 with `CODE: 中文说明` on failure, HTTP 200, nothing written), then one engine
//! command, then the answer. Answers to money-moving and state-changing messages are
//! stored with their msgid, so a replay gets the same bytes.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use chrono::NaiveDateTime;
use gongji_core::codes::{CertType, InstitutionKind, MedType};
use gongji_core::interface_rules::{self, TransactionKind};
use gongji_core::ledger::LedgerAccount;
use gongji_core::pooling::FeeLine;
use gongji_engine::{
    AuditNote, CancelCommand, Command, Credential, EngineError, OpenVisitCommand, Outcome, Render,
    Request, SettleCommand, VisitChange, VisitCommand,
};
use gongji_nhsa::auth::GatewayHeaders;
use gongji_nhsa::input::{self as wire, TxInput};
use gongji_nhsa::output::{
    DrugSettlementOutput, FeeUploadOutput, ReconcileOutput, RegistrationOut, RegistrationOutput,
    SettlementOutput, SignInOut, SignInOutput, StmtInfo, TxOutput,
};
use gongji_nhsa::wire_codes::{BatchSelector, StmtResult};
use gongji_nhsa::{Envelope, RefIds, Response};
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::render;

pub async fn call_service(State(app): State<App>, headers: HeaderMap, body: Bytes) -> HttpResponse {
    handle(app, None, headers, body).await
}

pub async fn call_service_with_infno(
    State(app): State<App>,
    Path(infno): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    handle(app, Some(infno), headers, body).await
}

fn unauthorized(body: String) -> HttpResponse {
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn json(bytes: Vec<u8>) -> HttpResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        bytes,
    )
        .into_response()
}

fn auth_failure(message: &str) -> String {
    serde_json::json!({ "code": 401, "message": message }).to_string()
}

/// The metrics label for a client-sent infno: one we serve, or "-". Labels must not grow
/// with whatever text clients send (each distinct value is a new time series).
fn infno_label(infno: &str) -> &'static str {
    gongji_nhsa::input::Infno::parse(infno).map_or("-", |i| i.code())
}

/// Counts and logs a gateway refusal, then answers it with HTTP 401. The log names the
/// paasid and the reason, never the token, nonce or signature.
fn refuse_gateway(app: &App, infno: &str, paasid: Option<&str>, body: String) -> HttpResponse {
    app.metrics
        .requests
        .with_label_values(&[infno_label(infno), "unauthorized"])
        .inc();
    // Debug-quoted and bounded: the paasid is whatever the client sent.
    let paasid = paasid
        .filter(|p| p.len() <= gongji_nhsa::auth::PAASID_BYTES_MAX)
        .unwrap_or("-");
    tracing::warn!(
        paasid = ?paasid,
        infno = infno_label(infno),
        refusal = %body,
        "gateway authentication refused"
    );
    unauthorized(body)
}

async fn handle(
    app: App,
    path_infno: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    let started = Instant::now();
    let received_at = app.clock.now();
    // 1. Gateway authentication.
    let gw = GatewayHeaders::from_lookup(|name| headers.get(name).and_then(|v| v.to_str().ok()));
    let gateway = match app.gateway_check().authenticate(&gw, app.clock.unix_now()) {
        Ok(g) => g,
        Err(e) => return refuse_gateway(&app, "-", gw.paasid.as_deref(), e.body_json()),
    };
    // 2.–3. The envelope, its input and the transaction, as the authenticated institution.
    let institution = Authenticated {
        fixmedins_code: gateway.fixmedins_code.clone(),
        admdvs: gateway.admdvs,
        kind: gateway.kind,
    };
    match answer_as(
        &app,
        &institution,
        path_infno.as_deref(),
        &body,
        started,
        received_at,
        None,
    )
    .await
    {
        Ok(bytes) => json(bytes),
        Err(NotThisInstitution { infno }) => refuse_gateway(
            &app,
            &infno,
            gw.paasid.as_deref(),
            auth_failure(INSTITUTION_MISMATCH),
        ),
    }
}

/// The refusal of an envelope whose `fixmedins_code` is not the authenticated institution.
pub const INSTITUTION_MISMATCH: &str = "GJ-AUTH-INSTITUTION-MISMATCH: fixmedins_code 与 paasid 绑定的机构不符 / fixmedins_code is not the paasid's institution";

/// An institution whose identity was proven before its message is read: by the gateway
/// signature (the HTTP interface) or by an operator's sign-in (the till). Nothing after
/// this point reads a gateway token.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub fixmedins_code: String,
    /// For answers to messages whose envelope does not parse.
    pub admdvs: gongji_core::codes::Admdvs,
    /// Pharmacy or hospital: which transactions it may call.
    pub kind: InstitutionKind,
}

/// The envelope names another institution than the authenticated one: nothing was done.
#[derive(Debug)]
pub struct NotThisInstitution {
    /// The envelope's infno, for the metrics label.
    pub infno: String,
}

/// Everything after authentication: the envelope and the transaction's input (infcode -1
/// with `CODE: 中文说明` on failure, nothing written), one engine command with its msgid
/// (a replay gets the stored answer), and the answer's bytes. `settlement_audit` is written
/// in the same commit as the settlement a 2102 / 2207 makes, or not at all (the till's
/// 亲情账户 use); other messages, dry runs and replays drop it.
pub async fn answer_as(
    app: &App,
    institution: &Authenticated,
    path_infno: Option<&str>,
    body: &[u8],
    started: Instant,
    received_at: NaiveDateTime,
    settlement_audit: Option<AuditNote>,
) -> Result<Vec<u8>, NotThisInstitution> {
    let env = match Envelope::parse(body) {
        Ok(env) => env,
        Err(e) => {
            let ids = RefIds::new(
                institution.admdvs,
                received_at,
                app.clock.now(),
                app.next_sequence(),
            );
            app.metrics
                .requests
                .with_label_values(&["-", "bad_request"])
                .inc();
            return Ok(render::to_bytes(
                &Response::<TxOutput>::wire_failure(ids.clone(), &e),
                &ids,
            ));
        }
    };
    if env.fixmedins_code != institution.fixmedins_code {
        return Err(NotThisInstitution {
            infno: env.infno.as_str().to_string(),
        });
    }
    let ids = RefIds::new(
        env.mdtrtarea_admvs,
        received_at,
        app.clock.now(),
        app.next_sequence(),
    );
    let input = env
        .check_path_infno(path_infno)
        .and_then(|()| env.decode_input());
    let input = match input {
        Ok(i) => i,
        Err(e) => {
            app.metrics
                .requests
                .with_label_values(&[infno_label(&env.infno), "bad_request"])
                .inc();
            return Ok(render::to_bytes(
                &Response::<TxOutput>::wire_failure(ids.clone(), &e),
                &ids,
            ));
        }
    };
    // 3. The interface's own refusals (the rules are gongji-core's), then the transaction.
    let infno = infno_label(&env.infno);
    if let Err(refusal) = interface_checks(institution.kind, &input) {
        app.metrics
            .requests
            .with_label_values(&[infno, "refused"])
            .inc();
        return Ok(err_bytes(&ids, &EngineError::Refused(refusal)).0);
    }
    let bytes = dispatch(app, &env, input, ids, received_at, settlement_audit).await;
    let outcome = if bytes.1 { "ok" } else { "refused" };
    app.metrics
        .requests
        .with_label_values(&[infno, outcome])
        .inc();
    app.metrics
        .latency
        .with_label_values(&[infno])
        .observe(started.elapsed().as_secs_f64());
    Ok(bytes.0)
}

/// The kind of institution a transaction belongs to (2101–2103 pharmacies, 2201–2208
/// hospitals).
fn transaction_kind(input: &TxInput) -> TransactionKind {
    match input {
        TxInput::DrugPreSettle(_) | TxInput::DrugSettle(_) | TxInput::DrugCancel(_) => {
            TransactionKind::Pharmacy
        }
        TxInput::Register(_)
        | TxInput::CancelRegister(_)
        | TxInput::VisitInfo(_)
        | TxInput::FeeUpload(_)
        | TxInput::CancelFees(_)
        | TxInput::PreSettle(_)
        | TxInput::Settle(_)
        | TxInput::CancelSettle(_) => TransactionKind::Hospital,
        TxInput::SignIn(_) | TxInput::PersonInfo(_) | TxInput::Reconcile(_) => TransactionKind::Any,
    }
}

/// Refuses a transaction of the other kind of institution and a fee line whose amount is
/// not its price times its count, before anything is decided or written.
fn interface_checks(kind: InstitutionKind, input: &TxInput) -> Result<(), gongji_core::Refusal> {
    interface_rules::may_call(kind, transaction_kind(input))?;
    let lines: Vec<&wire::FeeLine> = match input {
        TxInput::FeeUpload(f) => f.feedetail.iter().map(|d| &d.line).collect(),
        TxInput::DrugPreSettle(d) | TxInput::DrugSettle(d) => d.drugdetail.iter().collect(),
        _ => Vec::new(),
    };
    for l in lines {
        interface_rules::check_fee_line(
            &l.feedetl_sn,
            l.pric.micro_yuan(),
            l.cnt.ten_thousandths(),
            l.det_item_fee_sumamt,
        )?;
    }
    Ok(())
}

/// The meaning of a request, for "same msgid, same request?".
fn request_hash(env: &Envelope) -> String {
    let mut h = Sha256::new();
    h.update(env.infno.as_bytes());
    h.update([0]);
    h.update(env.fixmedins_code.as_bytes());
    h.update([0]);
    h.update(env.input.get().as_bytes());
    hex::encode(h.finalize())
}

fn ok_bytes(ids: &RefIds, output: TxOutput) -> (Vec<u8>, bool) {
    (
        render::to_bytes(&Response::success(ids.clone(), output), ids),
        true,
    )
}

fn err_bytes(ids: &RefIds, e: &EngineError) -> (Vec<u8>, bool) {
    let msg = format!("{}: {}", e.code(), e.message_zh());
    (
        render::to_bytes(&Response::<TxOutput>::failure(ids.clone(), msg), ids),
        false,
    )
}

/// Renders an outcome into the stored and sent answer.
type Renderer = fn(&Outcome, &RenderCtx) -> Option<TxOutput>;

#[derive(Clone)]
struct RenderCtx {
    ids: RefIds,
    msgid: String,
    cert_type: CertType,
    pharmacy: bool,
    ipt_otp_no: String,
}

fn render_outcome(outcome: &Outcome, ctx: &RenderCtx) -> Option<TxOutput> {
    match outcome {
        Outcome::Settled(s) => {
            let (setlinfo, setldetail) = render::settlement(s, ctx.cert_type, &ctx.msgid);
            Some(if ctx.pharmacy {
                TxOutput::DrugSettlement(DrugSettlementOutput {
                    setlinfo,
                    setldetail,
                    detlcutinfo: render::fee_results(&s.decision.split.lines),
                })
            } else {
                TxOutput::Settlement(SettlementOutput {
                    setlinfo,
                    setldetail,
                })
            })
        }
        Outcome::Cancelled(c) => Some(TxOutput::Settlement(SettlementOutput {
            setlinfo: render::cancellation(c, &ctx.msgid),
            setldetail: render::cancellation_details(c),
        })),
        Outcome::Visit(v) => Some(if v.status == "open" && !ctx.ipt_otp_no.is_empty() {
            TxOutput::Register(RegistrationOutput {
                data: RegistrationOut {
                    mdtrt_id: v.mdtrt_id.clone(),
                    psn_no: v.psn_no.clone(),
                    ipt_otp_no: ctx.ipt_otp_no.clone(),
                },
            })
        } else {
            TxOutput::default()
        }),
        Outcome::FeesUploaded(lines) => Some(TxOutput::FeeUpload(FeeUploadOutput {
            result: render::fee_results(lines),
        })),
        Outcome::FeesCancelled { .. } => Some(TxOutput::default()),
        _ => None,
    }
}

fn stored_answer(outcome: &Outcome, ctx: &RenderCtx, renderer: Renderer) -> String {
    let output = renderer(outcome, ctx).unwrap_or_default();
    String::from_utf8(render::to_bytes(
        &Response::success(ctx.ids.clone(), output),
        &ctx.ids,
    ))
    .unwrap_or_default()
}

/// Submits a command with its msgid; answers from the store on a replay.
async fn run(app: &App, env: &Envelope, command: Command, ctx: RenderCtx) -> (Vec<u8>, bool) {
    run_audited(app, env, command, ctx, None).await
}

/// As [`run`], with `audit` committed with the change or not at all.
async fn run_audited(
    app: &App,
    env: &Envelope,
    command: Command,
    ctx: RenderCtx,
    audit: Option<AuditNote>,
) -> (Vec<u8>, bool) {
    let render_ctx = ctx.clone();
    let render: Render = Box::new(move |o| stored_answer(o, &render_ctx, render_outcome));
    let mut request = Request::new(command)
        .with_msgid(env.msgid.as_str(), request_hash(env))
        .with_render(render);
    request.audit = audit;
    match app.submit(request).await {
        Ok(Outcome::Replayed { response }) => (response.into_bytes(), true),
        Ok(outcome) => {
            if let Outcome::Settled(s) = &outcome {
                crate::service::notify::settled(app, s);
            }
            (
                stored_answer(&outcome, &ctx, render_outcome).into_bytes(),
                true,
            )
        }
        Err(e) => err_bytes(&ctx.ids, &e),
    }
}

fn fee_line(l: &wire::FeeLine) -> FeeLine {
    FeeLine {
        sn: l.feedetl_sn.clone(),
        item_code: l.med_list_codg.clone(),
        amount: l.det_item_fee_sumamt,
        count_e4: l.cnt.ten_thousandths(),
        price: l.pric.to_fen_rounded(),
    }
}

async fn dispatch(
    app: &App,
    env: &Envelope,
    input: TxInput,
    ids: RefIds,
    now: NaiveDateTime,
    settlement_audit: Option<AuditNote>,
) -> (Vec<u8>, bool) {
    let ctx = |cert_type: CertType, pharmacy: bool| RenderCtx {
        ids: ids.clone(),
        msgid: env.msgid.as_str().to_string(),
        cert_type,
        pharmacy,
        ipt_otp_no: String::new(),
    };
    let institution = env.fixmedins_code.clone();
    let channel = env.opter_type;
    match input {
        TxInput::SignIn(_) => ok_bytes(
            &ids,
            TxOutput::SignIn(SignInOutput {
                signinoutb: SignInOut {
                    sign_time: now,
                    sign_no: format!("{}{}", env.fixmedins_code, now.format("%Y%m%d%H%M%S")),
                },
            }),
        ),
        TxInput::PersonInfo(q) => {
            let cred = Credential {
                cert_type: q.mdtrt_cert_type,
                number: q.mdtrt_cert_no.reveal().to_string(),
            };
            let read = app
                .read(move |engine| {
                    let owner = engine.credential_owner(&cred)?;
                    let person = engine.state().persons.get(&owner)?.clone();
                    let balance = engine
                        .state()
                        .balance(&LedgerAccount::Personal(owner).key());
                    Some((person, balance))
                })
                .await;
            match read {
                Ok(Some((person, balance))) => ok_bytes(
                    &ids,
                    TxOutput::PersonInfo(render::person_info(&person, balance, now)),
                ),
                Ok(None) => err_bytes(&ids, &EngineError::UnknownPerson(String::new())),
                Err(e) => err_bytes(&ids, &e),
            }
        }
        TxInput::Register(r) => {
            let mut c = ctx(r.mdtrt_cert_type, false);
            c.ipt_otp_no = r.ipt_otp_no.clone();
            let cmd = Command::OpenVisit(OpenVisitCommand {
                institution,
                psn_no: r.psn_no,
                insutype: r.insutype,
                med_type: MedType::GeneralOutpatient,
                begntime: r.begntime,
                at: now,
            });
            run(app, env, cmd, c).await
        }
        TxInput::CancelRegister(r) => {
            let cmd = Command::Visit(VisitCommand {
                institution,
                mdtrt_id: r.mdtrt_id,
                psn_no: r.psn_no,
                change: VisitChange::Cancel,
                at: now,
            });
            run(app, env, cmd, ctx(CertType::IdCard, false)).await
        }
        TxInput::VisitInfo(v) => {
            let diagnosis = v
                .diseinfo
                .iter()
                .map(|d| format!("{} {}", d.diag_code, d.diag_name))
                .collect::<Vec<_>>()
                .join("；");
            let cmd = Command::Visit(VisitCommand {
                institution,
                mdtrt_id: v.mdtrtinfo.mdtrt_id,
                psn_no: v.mdtrtinfo.psn_no,
                change: VisitChange::Info {
                    med_type: Some(v.mdtrtinfo.med_type),
                    diagnosis,
                },
                at: now,
            });
            run(app, env, cmd, ctx(CertType::IdCard, false)).await
        }
        TxInput::FeeUpload(f) => {
            let (mdtrt_id, psn_no) = match f.feedetail.first() {
                Some(d) => (d.mdtrt_id.clone(), d.psn_no.clone()),
                None => return err_bytes(&ids, &EngineError::NoFees),
            };
            let lines = f
                .feedetail
                .iter()
                .map(|d| (d.chrg_bchno.clone(), fee_line(&d.line)))
                .collect();
            let cmd = Command::Visit(VisitCommand {
                institution,
                mdtrt_id,
                psn_no,
                change: VisitChange::UploadFees(lines),
                at: now,
            });
            run(app, env, cmd, ctx(CertType::IdCard, false)).await
        }
        TxInput::CancelFees(f) => {
            let cmd = Command::Visit(VisitCommand {
                institution,
                mdtrt_id: f.mdtrt_id,
                psn_no: f.psn_no,
                change: VisitChange::CancelFees {
                    chrg_bchno: match f.chrg_bchno {
                        BatchSelector::All => None,
                        BatchSelector::Batch(b) => Some(b),
                    },
                },
                at: now,
            });
            run(app, env, cmd, ctx(CertType::IdCard, false)).await
        }
        TxInput::PreSettle(s) | TxInput::Settle(s) => {
            let dry_run = env.infno == "2206";
            let cmd = Command::Settle(SettleCommand {
                institution,
                psn_no: s.psn_no,
                credential: Some(Credential {
                    cert_type: s.mdtrt_cert_type,
                    number: s.mdtrt_cert_no.reveal().to_string(),
                }),
                med_type: s.med_type,
                account_use: s.acct_used_flag,
                lines: Vec::new(),
                declared_total: Some(s.medfee_sumamt),
                mdtrt_id: Some(s.mdtrt_id),
                channel,
                at: now,
                dry_run,
            });
            let c = ctx(s.mdtrt_cert_type, false);
            if dry_run {
                presettle(app, cmd, &c).await
            } else {
                run_audited(app, env, cmd, c, settlement_audit).await
            }
        }
        TxInput::DrugPreSettle(d) | TxInput::DrugSettle(d) => {
            let dry_run = env.infno == "2101";
            let info = d.druginfo;
            let cmd = Command::Settle(SettleCommand {
                institution,
                psn_no: info.psn_no,
                credential: Some(Credential {
                    cert_type: info.mdtrt_cert_type,
                    number: info.mdtrt_cert_no.reveal().to_string(),
                }),
                med_type: info.med_type,
                account_use: info.acct_used_flag,
                lines: d.drugdetail.iter().map(fee_line).collect(),
                declared_total: Some(info.medfee_sumamt),
                mdtrt_id: None,
                channel,
                at: now,
                dry_run,
            });
            let c = ctx(info.mdtrt_cert_type, true);
            if dry_run {
                presettle(app, cmd, &c).await
            } else {
                run_audited(app, env, cmd, c, settlement_audit).await
            }
        }
        TxInput::CancelSettle(c) | TxInput::DrugCancel(c) => {
            let cmd = Command::Cancel(CancelCommand {
                institution,
                setl_id: c.setl_id,
                psn_no: c.psn_no,
                channel,
                at: now,
            });
            run(app, env, cmd, ctx(CertType::IdCard, false)).await
        }
        TxInput::Reconcile(r) => reconcile(app, env, r, &ids).await,
    }
}

/// A pre-settlement moves nothing and stores nothing.
async fn presettle(app: &App, cmd: Command, ctx: &RenderCtx) -> (Vec<u8>, bool) {
    match app.submit(Request::new(cmd)).await {
        Ok(outcome) => match render_outcome(&outcome, ctx) {
            Some(out) => ok_bytes(&ctx.ids, out),
            None => ok_bytes(&ctx.ids, TxOutput::default()),
        },
        Err(e) => err_bytes(&ctx.ids, &e),
    }
}

async fn reconcile(app: &App, env: &Envelope, r: wire::Reconcile, ids: &RefIds) -> (Vec<u8>, bool) {
    let q = gongji_store::ReconcileQuery {
        fixmedins_code: env.fixmedins_code.clone(),
        insutype: r.insutype.code().to_string(),
        begin: r.stmt_begndate.format("%Y-%m-%d").to_string(),
        end: r.stmt_enddate.format("%Y-%m-%d").to_string(),
        include_cancelled: r.refd_setl_flag,
        med_types: render::med_types_of(r.clr_type),
    };
    let ours = app
        .read(move |engine| engine.store_mut().reconcile(&q))
        .await;
    let ours = match ours {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return err_bytes(ids, &EngineError::Store(e)),
        Err(e) => return err_bytes(ids, &e),
    };
    let mut diffs = Vec::new();
    let mut cmp = |name: &str, theirs: String, mine: String| {
        if theirs != mine {
            diffs.push(format!("{name}：机构{theirs}，中心{mine}"));
        }
    };
    cmp(
        "医疗费总额",
        r.medfee_sumamt.to_string(),
        ours.medfee_sumamt.to_string(),
    );
    cmp(
        "基金支付总额",
        r.fund_pay_sumamt.to_string(),
        ours.fund_pay_sumamt.to_string(),
    );
    cmp(
        "个人账户支付",
        r.acct_pay.to_string(),
        ours.acct_pay.to_string(),
    );
    cmp(
        "结算笔数",
        r.fixmedins_setl_cnt.to_string(),
        ours.count.to_string(),
    );
    let balanced = diffs.is_empty();
    ok_bytes(
        ids,
        TxOutput::Reconcile(ReconcileOutput {
            stmtinfo: StmtInfo {
                setl_optins: r.setl_optins,
                stmt_rslt: if balanced {
                    StmtResult::Balanced
                } else {
                    StmtResult::NotBalanced
                },
                stmt_rslt_dscr: if balanced {
                    "对账一致".into()
                } else {
                    diffs.join("；")
                },
            },
        }),
    )
}
