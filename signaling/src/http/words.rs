//! The facilitator's own words for a group: the agreement members accept
//! before they knock, and the line the group sees while someone is in the
//! side room. Set in the console; the agreement is read by the join page
//! (with the invite token, before knocking: it says nothing about who is in
//! the session).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use haven_sfu::MediaPlane;
use serde::Deserialize;
use serde_json::json;

use super::api::{error, internal, LoggedIn, Managed};
use super::limits::ClientIp;
use super::AppState;
use crate::auth::looks_like_token;
use crate::store::{Group, Invite};

/// Longest agreement (characters) and most points in it.
const AGREEMENT_MAX_CHARS: usize = 2000;
const AGREEMENT_MAX_POINTS: usize = 15;
/// Longest side-room line.
const NOTICE_MAX_CHARS: usize = 200;

/// What the console sends; absent or blank agreement: Haven's default;
/// absent notice: the default line, `""`: no line at all.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordsBody {
    #[serde(default)]
    agreement: Option<String>,
    #[serde(default)]
    stepped_out_notice: Option<String>,
}

/// The agreement's points, one per non-blank line.
pub fn agreement_points(g: &Group) -> Option<Vec<String>> {
    g.agreement.as_deref().map(|a| {
        a.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

pub async fn set_words<M: MediaPlane>(
    State(state): State<Arc<AppState<M>>>,
    LoggedIn(me): LoggedIn,
    Managed(g): Managed,
    body: Result<Json<WordsBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if g.facilitator != me {
        return error(
            StatusCode::FORBIDDEN,
            "not_allowed",
            "Only the group's facilitator can change its agreement and wording.",
        );
    }
    let Ok(Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Send agreement and stepped_out_notice as text.",
        );
    };
    let agreement = body
        .agreement
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    if let Some(a) = agreement {
        let points = a.lines().filter(|l| !l.trim().is_empty()).count();
        if a.chars().count() > AGREEMENT_MAX_CHARS || points > AGREEMENT_MAX_POINTS {
            return error(
                StatusCode::BAD_REQUEST,
                "too_long",
                "The agreement can have at most 15 points and 2000 characters.",
            );
        }
    }
    let notice = body.stepped_out_notice.as_deref().map(str::trim);
    if notice.is_some_and(|n| n.chars().count() > NOTICE_MAX_CHARS || n.contains('\n')) {
        return error(
            StatusCode::BAD_REQUEST,
            "too_long",
            "The side-room line must be one line of at most 200 characters.",
        );
    }
    match state.store.set_group_words(g.id, agreement, notice) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => internal(e),
    }
}

/// The agreement for whoever holds an invite link (`null`: the default).
/// Unknown links are charged to the same budget as knocks on them.
pub async fn invite_words<M: MediaPlane>(
    State(state): State<Arc<AppState<M>>>,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
) -> Response {
    let invite = looks_like_token(&token)
        .then(|| state.store.invite(&token).ok().flatten())
        .flatten();
    let Some(invite) = invite else {
        if ip.is_some_and(|ip| !state.bad_link_limit.allow(ip, Instant::now())) {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many attempts; wait a minute.",
            );
        }
        return error(
            StatusCode::NOT_FOUND,
            "bad_link",
            "This invite link is not valid, or it was revoked.",
        );
    };
    let g = match invite {
        Invite::Group(g) | Invite::Personal(g, _) => g,
    };
    Json(json!({ "agreement": agreement_points(&g) })).into_response()
}
