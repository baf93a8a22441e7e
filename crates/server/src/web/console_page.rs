//! The opening every console page shares: the page's language, the staff member signed in
//! (or the way to the sign-in page, coming back here after it), for a form also the
//! same-origin and CSRF checks, and the console's frame with its tabs.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::console::frame;
use super::i18n::{Dict, Lang};
use super::session::{self, see_other};
use super::{href, lang_of, LangQuery, Page};
use crate::app::App;
use crate::service::staff::Staff;

/// A console page opened by a signed-in staff member.
pub(super) struct ConsolePage {
    pub lang: Lang,
    /// Whether the language came from `?lang=` (the frame then remembers it in a cookie).
    pub remember: bool,
    pub staff: Staff,
}

impl ConsolePage {
    /// The page asked for in `lang` (`?lang=`), or the redirect to the staff sign-in that
    /// comes back to `here`.
    pub async fn open(
        app: &App,
        headers: &HeaderMap,
        lang: Option<String>,
        here: &str,
    ) -> Result<ConsolePage, Response> {
        let (lang, remember) = lang_of(&LangQuery { lang }, headers);
        Self::signed_in(app, headers, lang, remember, here).await
    }

    /// A form sent to the page: refused when it comes from another site or without this
    /// session's CSRF token, both before the sign-in is looked at; then as [`Self::open`].
    pub async fn open_form(
        app: &App,
        headers: &HeaderMap,
        lang: Option<String>,
        csrf: Option<&str>,
        here: &str,
    ) -> Result<ConsolePage, Response> {
        let (lang, remember) = lang_of(&LangQuery { lang }, headers);
        session::check_form(headers, lang, csrf).map_err(IntoResponse::into_response)?;
        Self::signed_in(app, headers, lang, remember, here).await
    }

    async fn signed_in(
        app: &App,
        headers: &HeaderMap,
        lang: Lang,
        remember: bool,
        here: &str,
    ) -> Result<ConsolePage, Response> {
        match session::staff(app, headers).await {
            Some(staff) => Ok(ConsolePage {
                lang,
                remember,
                staff,
            }),
            None => Err(see_other(&href("/console", &[("next", here.to_string())]))),
        }
    }

    pub fn t(&self) -> &'static Dict {
        self.lang.t()
    }

    /// The console's frame around a page under tab `tab`, at `path` with `query`.
    pub fn frame(&self, title: &str, tab: &str, path: &str, query: &[(&str, String)]) -> Page {
        frame(
            self.lang,
            self.remember,
            title,
            tab,
            path,
            query,
            Some(&self.staff),
        )
    }
}

/// `path` with the query's filled-in values: where a page that keeps its filters comes
/// back to after the sign-in.
pub(super) fn here_with(path: &str, query: &[(&str, String)]) -> String {
    let filled: Vec<(&str, String)> = query
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .cloned()
        .collect();
    href(path, &filled)
}
