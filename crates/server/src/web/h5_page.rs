//! The opening every citizen page shares: the page's language, the person signed in (or the
//! way to the sign-in page, coming back here after it), for a form also the same-origin and
//! CSRF checks, and the H5 frame with the person's bar.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::h5::frame;
use super::i18n::{fill, Dict, Lang};
use super::session::{self, see_other, FormRefused};
use super::{href, lang_of, LangQuery, Page, UserBar};
use crate::app::App;
use crate::service::people;

/// A citizen page opened by a signed-in person.
pub(super) struct H5Page {
    pub lang: Lang,
    /// Whether the language came from `?lang=` (the frame then remembers it in a cookie).
    pub remember: bool,
    pub psn_no: String,
}

impl H5Page {
    /// The page asked for in `lang` (`?lang=`), or the redirect to the sign-in page that
    /// comes back to `here`.
    pub async fn open(
        app: &App,
        headers: &HeaderMap,
        lang: Option<String>,
        here: &str,
    ) -> Result<H5Page, Response> {
        let lang_remember = lang_of(&LangQuery { lang }, headers);
        Self::signed_in(app, headers, lang_remember, here).await
    }

    /// A form sent to the page: refused when it comes from another site or without this
    /// session's CSRF token, both before the sign-in is looked at; then as [`Self::open`].
    pub async fn open_form(
        app: &App,
        headers: &HeaderMap,
        lang: Option<String>,
        csrf: Option<&str>,
        here: &str,
    ) -> Result<H5Page, Response> {
        let lang_remember =
            Self::form_checked(headers, lang, csrf).map_err(IntoResponse::into_response)?;
        Self::signed_in(app, headers, lang_remember, here).await
    }

    /// The language of a form that came from our own pages with this session's CSRF token,
    /// or why it is refused; for a form that answers something before the sign-in is looked
    /// at.
    pub fn form_checked(
        headers: &HeaderMap,
        lang: Option<String>,
        csrf: Option<&str>,
    ) -> Result<(Lang, bool), FormRefused> {
        let (lang, remember) = lang_of(&LangQuery { lang }, headers);
        session::check_form(headers, lang, csrf)?;
        Ok((lang, remember))
    }

    /// The person signed in, or the redirect to the sign-in page that comes back to `here`.
    pub async fn signed_in(
        app: &App,
        headers: &HeaderMap,
        (lang, remember): (Lang, bool),
        here: &str,
    ) -> Result<H5Page, Response> {
        match session::person(app, headers).await {
            Some(psn_no) => Ok(H5Page {
                lang,
                remember,
                psn_no,
            }),
            None => Err(see_other(&href(
                "/h5/signin",
                &[("next", here.to_string())],
            ))),
        }
    }

    pub fn t(&self) -> &'static Dict {
        self.lang.t()
    }

    /// The language and whether to remember it, as [`Page::at`] takes them.
    pub fn lang_remember(&self) -> (Lang, bool) {
        (self.lang, self.remember)
    }

    /// The H5 frame around a page under tab `tab`, at `path` with `query`.
    pub async fn frame(
        &self,
        app: &App,
        title: &str,
        tab: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Page {
        frame(
            app,
            self.lang_remember(),
            title,
            tab,
            path,
            query,
            Some(&self.psn_no),
        )
        .await
    }

    /// A page outside the tabs (`/h5/proxy`, `/h5/requests`): only the person's bar.
    pub async fn bar_only(&self, app: &App, title: &str, path: &str) -> Page {
        let t = self.t();
        let who = people::who(app, &self.psn_no)
            .await
            .map(|p| p.name_masked)
            .unwrap_or_default();
        Page::at(self.lang, self.remember, title, "h5", path, &[]).with_user(Some(UserBar {
            who: fill(t.h5_signed_in_as, &[&who]),
            signout_action: "/h5/signout",
        }))
    }
}
