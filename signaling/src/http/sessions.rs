//! Opening and ending a group's session: the weekly window it may open
//! in, and the length the facilitators' clock counts down from.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use haven_sfu::MediaPlane;
use serde_json::json;

use super::api::{error, LoggedIn, Managed};
use super::AppState;
use crate::store::WeeklyWindow;

type Shared<M> = State<Arc<AppState<M>>>;

/// A session's length when its group has no weekly window: the usual
/// length of a process group.
const DEFAULT_SESSION_MINUTES: u16 = 90;

pub async fn start_session<M: MediaPlane>(
    State(state): Shared<M>,
    Managed(g): Managed,
) -> Response {
    if let Some(w) = g.window {
        if !inside_window(w, std::time::SystemTime::now()) {
            return error(
                StatusCode::CONFLICT,
                "outside_window",
                "This group's weekly time window is not open now (times are UTC).",
            );
        }
    }
    let minutes = g
        .window
        .map(|w| w.duration_minutes)
        .filter(|m| *m > 0)
        .unwrap_or(DEFAULT_SESSION_MINUTES);
    let length = std::time::Duration::from_secs(u64::from(minutes) * 60);
    let handle = state
        .live
        .start(g.id, g.capacity, length, g.stepped_out_notice.clone());
    (
        StatusCode::CREATED,
        Json(json!({ "group": g.id.0, "session": handle.room.0 })),
    )
        .into_response()
}

pub async fn end_session<M: MediaPlane>(
    State(state): Shared<M>,
    LoggedIn(me): LoggedIn,
    Managed(g): Managed,
) -> Response {
    let ended = match state.live.session(g.id) {
        Some(h) => h.end(me, g.facilitator == me).await,
        None => None,
    };
    match ended {
        Some(true) => StatusCode::NO_CONTENT.into_response(),
        Some(false) => error(
            StatusCode::FORBIDDEN,
            "not_allowed",
            "Only the group's facilitator, or whoever runs the session now, can end it.",
        ),
        None => error(
            StatusCode::NOT_FOUND,
            "no_session",
            "This group has no open session.",
        ),
    }
}

/// Whether `now` falls in the weekly window (UTC). 1970-01-01 was a Thursday.
pub fn inside_window(w: WeeklyWindow, now: std::time::SystemTime) -> bool {
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let minute_of_week = ((secs / 60 + 3 * 24 * 60) % (7 * 24 * 60)) as u32;
    let start = u32::from(w.weekday) * 24 * 60 + u32::from(w.start_minute);
    let offset = (minute_of_week + 7 * 24 * 60 - start) % (7 * 24 * 60);
    offset < u32::from(w.duration_minutes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn weekly_window_wraps_around_the_week() {
        // 1970-01-05 was a Monday; 10:00 UTC.
        let monday_10 = UNIX_EPOCH + Duration::from_secs(4 * 86_400 + 10 * 3600);
        let w = WeeklyWindow {
            weekday: 0,
            start_minute: 9 * 60 + 30,
            duration_minutes: 90,
        };
        assert!(inside_window(w, monday_10));
        assert!(!inside_window(w, monday_10 + Duration::from_secs(3600)));
        let sunday_late = WeeklyWindow {
            weekday: 6,
            start_minute: 23 * 60,
            duration_minutes: 120,
        };
        assert!(inside_window(
            sunday_late,
            UNIX_EPOCH + Duration::from_secs(4 * 86_400 + 1800)
        ));
    }
}
