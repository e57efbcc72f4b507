//! First run in the browser. While no facilitator account exists, `haven
//! serve` prints a one-time link (`/setup/{token}`, a fresh random token per
//! start, valid until used); opening it lets the first facilitator choose a
//! name and password, and logs them in. The page is served only for the
//! live token, and the account is made only through Haven's own page at the
//! configured public URL (the `/api` guard checks `Origin`/`Sec-Fetch-Site`;
//! this handler also wants the public URL's origin). `haven facilitator add`
//! stays for scripts.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use haven_sfu::MediaPlane;
use serde::Deserialize;

use super::api::{error, internal, logged_in};
use super::AppState;
use crate::auth::{hash_password, random_token, valid_username, MIN_PASSWORD_CHARS};
use crate::room::ResumeKey;

/// The one-time setup token, while there is one.
#[derive(Default)]
pub struct SetupLink(Mutex<Option<ResumeKey>>);

impl SetupLink {
    /// A fresh token (replacing any earlier one); for the printed link.
    pub fn issue(&self) -> String {
        let token = random_token();
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(ResumeKey::new(token.clone()));
        token
    }

    fn is(&self, token: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|t| t.matches(&ResumeKey::new(token.to_owned())))
    }

    /// Use the token up, if it is the live one.
    fn take(&self, token: &str) -> bool {
        let mut live = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let ok = live
            .as_ref()
            .is_some_and(|t| t.matches(&ResumeKey::new(token.to_owned())));
        if ok {
            *live = None;
        }
        ok
    }
}

const USED: &str = "This setup link was used already, or Haven was restarted. Log in, or ask for the link haven serve printed last.";

/// Whether the setup page may be shown for this token.
pub fn page_allowed<M: MediaPlane>(state: &AppState<M>, token: &str) -> bool {
    state.setup.is(token) && state.store.facilitator_count().is_ok_and(|n| n == 0)
}

/// What the setup page sends.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupBody {
    token: String,
    username: String,
    password: String,
}

/// Create the first facilitator account with the one-time token.
pub async fn create_first<M: MediaPlane>(
    State(state): State<Arc<AppState<M>>>,
    headers: HeaderMap,
    body: Result<Json<SetupBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Send {\"token\", \"username\", \"password\"}.",
        );
    };
    let from_our_page = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| super::is_our_origin(o, &state.settings.public_url));
    if !from_our_page || !page_allowed(&state, &body.token) {
        return error(StatusCode::NOT_FOUND, "setup_used", USED);
    }
    if !valid_username(&body.username) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_username",
            "A username is 1 to 64 letters, digits or . _ - @",
        );
    }
    if body.password.chars().count() < MIN_PASSWORD_CHARS {
        return error(
            StatusCode::BAD_REQUEST,
            "short_password",
            "The password must be at least 10 characters.",
        );
    }
    // Used up before the slow hash, so two tabs cannot both make an account.
    if !state.setup.take(&body.token) {
        return error(StatusCode::NOT_FOUND, "setup_used", USED);
    }
    let password = body.password;
    let hash = match tokio::task::spawn_blocking(move || hash_password(&password)).await {
        Ok(Ok(hash)) => hash,
        _ => return internal("password hashing failed"),
    };
    match state.store.add_facilitator(&body.username, &hash) {
        Ok(account) => logged_in(&state, account, &body.username, StatusCode::CREATED),
        Err(e) => internal(e),
    }
}

/// The setup page, for the live token only.
pub async fn page<M: MediaPlane>(
    State(state): State<Arc<AppState<M>>>,
    Path(token): Path<String>,
) -> Response {
    if page_allowed(&state, &token) {
        super::web::setup_page()
    } else {
        super::web::setup_used_page()
    }
}
