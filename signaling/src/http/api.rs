//! The facilitator console's JSON API.

use std::sync::Arc;
use std::time::Instant;

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::{HeaderMap, HeaderValue, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use haven_sfu::MediaPlane;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{session_cookie, AppState, SESSION_COOKIE};
use crate::auth::{random_token, verify_password};
use crate::room::{AccountId, GroupId, LinkId};
use crate::store::{Group, WeeklyWindow};

type Shared<M> = State<Arc<AppState<M>>>;

/// Members per group when the facilitator does not say.
pub const DEFAULT_CAPACITY: usize = 12;
/// Most members a group may have (14 people with two staff).
pub const MAX_CAPACITY: usize = 12;

/// A JSON error with a plain-language message.
pub(super) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

fn unauthorized() -> Response {
    error(StatusCode::UNAUTHORIZED, "login_required", "Log in first.")
}

pub(super) fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "request failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Something went wrong on the server.",
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

pub async fn login<M: MediaPlane>(
    State(state): Shared<M>,
    super::limits::ClientIp(ip): super::limits::ClientIp,
    body: Result<Json<LoginBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if ip.is_some_and(|ip| !state.login_limit.allow(ip, Instant::now())) {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many login attempts; wait a minute and try again.",
        );
    }
    let Ok(Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Send {\"username\": ..., \"password\": ...}.",
        );
    };
    if let Some(wait) = state.login_backoff.wait(&body.username, Instant::now()) {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            &format!(
                "Too many failed logins for this account; try again in {} seconds.",
                wait.as_secs().max(1)
            ),
        );
    }
    // Password hashing is slow and memory-hard on purpose: it runs off the
    // async runtime, a few at a time, so logins never starve knocks,
    // admissions or `/healthz`; the excess is told at once to retry.
    let Ok(slot) = state.login_slots.clone().try_acquire_owned() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "The server is busy checking other logins; try again in a moment.",
        );
    };
    let account = match state.store.account_by_username(&body.username) {
        Ok(a) => a,
        Err(e) => return internal(e),
    };
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    let password = body.password;
    // Verify even for unknown users so that timing does not reveal which exist.
    let verified = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        match hash {
            Some(h) => verify_password(&password, &h),
            None => {
                let _ = verify_password(&password, dummy_hash());
                false
            }
        }
    })
    .await;
    let ok = verified.unwrap_or(false);
    if ok {
        state.login_backoff.succeeded(&body.username);
    } else {
        state.login_backoff.failed(&body.username, Instant::now());
    }
    let Some(account) = account.filter(|_| ok) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "Wrong username or password.",
        );
    };
    if account.disabled {
        return error(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "This account is disabled. Ask your clinic's administrator.",
        );
    }
    logged_in(&state, account.id, &account.username, StatusCode::OK)
}

/// A new login for `account`: its session cookie and `{"username"}`.
pub(super) fn logged_in<M: MediaPlane>(
    state: &AppState<M>,
    account: AccountId,
    username: &str,
    status: StatusCode,
) -> Response {
    let token = state.sessions.start(account, Instant::now());
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{secure}");
    let mut resp = (status, Json(json!({ "username": username }))).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(SET_COOKIE, v);
    }
    resp
}

/// A hash of a random password, checked when the username is unknown.
pub(super) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| crate::auth::hash_password(&random_token()).unwrap_or_default())
}

pub async fn logout<M: MediaPlane>(State(state): Shared<M>, headers: HeaderMap) -> Response {
    if let Some(token) = session_cookie(&headers) {
        state.sessions.end(&token);
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let cookie = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(SET_COOKIE, v);
    }
    resp
}

pub async fn me<M: MediaPlane>(State(state): Shared<M>, headers: HeaderMap) -> Response {
    let Some(account) = state.account(&headers) else {
        return unauthorized();
    };
    match state.store.username(account) {
        Ok(Some(username)) => Json(json!({ "username": username })).into_response(),
        Ok(None) => unauthorized(),
        Err(e) => internal(e),
    }
}

#[derive(Serialize)]
struct GroupView {
    id: i64,
    name: String,
    capacity: usize,
    role: &'static str,
    /// `None` when the key that sealed it is gone (make a new one).
    invite_link: Option<String>,
    co_facilitator: Option<String>,
    /// Invited, no answer yet (as typed).
    co_facilitator_invited: Option<String>,
    weekly_window: Option<WindowView>,
    session_open: bool,
    /// The facilitator's own agreement, one point per line (`None`: default).
    agreement: Option<String>,
    /// The side-room line (`None`: default, `""`: none).
    stepped_out_notice: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct WindowView {
    /// 0 = Monday ... 6 = Sunday.
    weekday: u8,
    /// "HH:MM", UTC.
    start_minute: u16,
    duration_minutes: u16,
}

fn group_view<M: MediaPlane>(state: &AppState<M>, g: &Group, me: AccountId) -> GroupView {
    GroupView {
        id: g.id.0,
        name: g.name.clone(),
        capacity: g.capacity,
        role: if g.facilitator == me {
            "facilitator"
        } else {
            "co_facilitator"
        },
        invite_link: g.invite_token.as_deref().map(|t| state.invite_url(t)),
        co_facilitator: g
            .co_facilitator
            .and_then(|c| state.store.username(c).ok().flatten()),
        co_facilitator_invited: g.co_invited.clone().filter(|_| g.facilitator == me),
        weekly_window: g.window.map(|w| WindowView {
            weekday: w.weekday,
            start_minute: w.start_minute,
            duration_minutes: w.duration_minutes,
        }),
        session_open: state.live.session(g.id).is_some(),
        agreement: g.agreement.clone(),
        stepped_out_notice: g.stepped_out_notice.clone(),
    }
}

pub async fn list_groups<M: MediaPlane>(
    State(state): Shared<M>,
    LoggedIn(me): LoggedIn,
) -> Response {
    match state.store.groups_of(me) {
        Ok(groups) => Json(
            groups
                .iter()
                .map(|g| group_view(&state, g, me))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    name: String,
    #[serde(default)]
    capacity: Option<usize>,
    #[serde(default)]
    co_facilitator: Option<String>,
    #[serde(default)]
    weekly_window: Option<WindowView>,
}

pub async fn create_group<M: MediaPlane>(
    State(state): Shared<M>,
    LoggedIn(me): LoggedIn,
    body: Result<Json<CreateGroup>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Send {\"name\": ..., \"capacity\": 1-12}.",
        );
    };
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_name",
            "A group name is 1 to 80 characters.",
        );
    }
    let capacity = body.capacity.unwrap_or(DEFAULT_CAPACITY);
    if !(1..=MAX_CAPACITY).contains(&capacity) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_capacity",
            "Capacity is 1 to 12 members.",
        );
    }
    let window =
        match body.weekly_window {
            None => None,
            Some(w)
                if w.weekday <= 6
                    && w.start_minute < 24 * 60
                    && (1..=24 * 60).contains(&w.duration_minutes) =>
            {
                Some(WeeklyWindow {
                    weekday: w.weekday,
                    start_minute: w.start_minute,
                    duration_minutes: w.duration_minutes,
                })
            }
            Some(_) => return error(
                StatusCode::BAD_REQUEST,
                "bad_window",
                "weekly_window is {weekday: 0-6, start_minute: 0-1439, duration_minutes: 1-1440}.",
            ),
        };
    // A co-facilitator is invited, and becomes one by accepting. The answer
    // is the same whether or not the name is an account: the console does
    // not tell who has one, and nobody is named in a group without consent.
    let co = match body.co_facilitator.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(name) if name.chars().count() > 64 || name.chars().any(char::is_control) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_co_facilitator",
                "A co-facilitator is named by their Haven username (up to 64 characters).",
            )
        }
        Some(name) => match state.store.account_by_username(name) {
            Ok(a) => Some((name.to_owned(), a.map(|a| a.id).filter(|id| *id != me))),
            Err(e) => return internal(e),
        },
    };
    let created = state
        .store
        .create_group(name, me, None, capacity, &random_token(), window)
        .and_then(|id| {
            if let Some((typed, invitee)) = &co {
                state.store.invite_co_facilitator(id, typed, *invitee)?;
            }
            state.store.group(id)
        });
    match created {
        Ok(Some(g)) => (StatusCode::CREATED, Json(group_view(&state, &g, me))).into_response(),
        Ok(None) => internal("group vanished"),
        Err(e) => internal(e),
    }
}

/// Invitations to co-facilitate waiting for my answer.
pub async fn invitations<M: MediaPlane>(
    State(state): Shared<M>,
    LoggedIn(me): LoggedIn,
) -> Response {
    match state.store.invitations(me) {
        Ok(list) => Json(
            list.into_iter()
                .map(|(g, name, by)| json!({ "group": g.0, "name": name, "facilitator": by }))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    accept: bool,
}

/// Accept or decline an invitation to co-facilitate a group.
pub async fn answer_invitation<M: MediaPlane>(
    State(state): Shared<M>,
    LoggedIn(me): LoggedIn,
    Path(group): Path<i64>,
    body: Result<Json<Answer>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(answer)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Send {\"accept\": true|false}.",
        );
    };
    match state
        .store
        .answer_invitation(GroupId(group), me, answer.accept)
    {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(
            StatusCode::NOT_FOUND,
            "no_such_invitation",
            "No such invitation.",
        ),
        Err(e) => internal(e),
    }
}

/// The logged-in facilitator of a request (401 otherwise).
pub struct LoggedIn(pub AccountId);

impl<M: MediaPlane> FromRequestParts<Arc<AppState<M>>> for LoggedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState<M>>,
    ) -> Result<Self, Response> {
        state
            .account(&parts.headers)
            .map(LoggedIn)
            .ok_or_else(unauthorized)
    }
}

/// The group named by the `{group}` path segment, if the logged-in
/// facilitator may manage it (404 otherwise: others' groups are not revealed).
pub struct Managed(pub Group);

impl<M: MediaPlane> FromRequestParts<Arc<AppState<M>>> for Managed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState<M>>,
    ) -> Result<Self, Response> {
        let LoggedIn(me) = LoggedIn::from_request_parts(parts, state).await?;
        let not_found = || error(StatusCode::NOT_FOUND, "no_such_group", "No such group.");
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        let id = params
            .get("group")
            .and_then(|g| g.parse::<i64>().ok())
            .ok_or_else(not_found)?;
        match state.store.group(GroupId(id)) {
            Ok(Some(g)) if g.facilitator == me || g.co_facilitator == Some(me) => Ok(Managed(g)),
            Ok(_) => Err(not_found()),
            Err(e) => Err(internal(e)),
        }
    }
}

pub async fn list_links<M: MediaPlane>(State(state): Shared<M>, Managed(g): Managed) -> Response {
    match state.store.links(g.id) {
        Ok(links) => Json(
            links
                .iter()
                .map(|l| json!({ "id": l.id.0, "label": l.label, "revoked": l.revoked, "link": l.token.as_deref().map(|t| state.invite_url(t)) }))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    #[serde(default)]
    label: String,
}

pub async fn create_link<M: MediaPlane>(
    State(state): Shared<M>,
    Managed(g): Managed,
    body: Option<Json<CreateLink>>,
) -> Response {
    let label = body.map(|Json(b)| b.label).unwrap_or_default();
    if label.chars().count() > 40 || label.chars().any(char::is_control) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_label",
            "A label is at most 40 characters (initials are enough).",
        );
    }
    let token = random_token();
    match state.store.create_link(g.id, &token, label.trim()) {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "id": id.0, "label": label.trim(), "revoked": false, "link": state.invite_url(&token) })))
            .into_response(),
        Err(e) => internal(e),
    }
}

/// A new group invite link; the old one answers like an unknown link from
/// now on (a link that was shared too widely, or with someone who left).
/// Members already in a running session stay; waiting ones keep waiting.
pub async fn rotate_invite<M: MediaPlane>(
    State(state): Shared<M>,
    LoggedIn(me): LoggedIn,
    Managed(g): Managed,
) -> Response {
    if g.facilitator != me {
        return error(
            StatusCode::FORBIDDEN,
            "not_allowed",
            "Only the group's facilitator can replace its invite link.",
        );
    }
    let token = random_token();
    match state.store.rotate_invite(g.id, &token) {
        Ok(_) => Json(json!({ "invite_link": state.invite_url(&token) })).into_response(),
        Err(e) => internal(e),
    }
}

pub async fn revoke_link<M: MediaPlane>(
    State(state): Shared<M>,
    Managed(g): Managed,
    Path((_, link)): Path<(i64, i64)>,
) -> Response {
    match state.store.revoke_link(g.id, LinkId(link)) {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(
            StatusCode::NOT_FOUND,
            "no_such_link",
            "No such link in this group.",
        ),
        Err(e) => internal(e),
    }
}
