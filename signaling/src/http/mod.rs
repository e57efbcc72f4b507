//! The HTTP surface: `app(state) -> Router`, so tests can drive it without
//! a listener. JSON API for the facilitator console, the WebSocket for
//! everyone in a session.

mod api;
mod csrf;
mod door;
pub mod limits;
mod sessions;
pub mod setup;
mod web;
mod words;
mod ws;

use std::sync::Arc;
use std::time::Instant;

use axum::http::header::{HeaderMap, COOKIE};
use axum::routing::{delete, get, post};
use axum::Router;
use haven_sfu::MediaPlane;

use crate::auth::Sessions;
use crate::live::Live;
use crate::room::AccountId;
use crate::store::Store;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "haven_session";

/// How the HTTP layer is set up.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// The address members use, for invite links (e.g. `https://haven.clinic.example`).
    pub public_url: String,
    /// Served over TLS (directly or by a proxy): cookies are `Secure` and
    /// responses carry HSTS.
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for the
    /// rate limits; see `limits`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// Logins per address: a burst of 5, then 10 a minute.
pub fn login_limiter() -> limits::RateLimiter {
    limits::RateLimiter::new(5, 10)
}

/// Knocks per address: a burst of 20 (a clinic behind one NAT, or more if
/// the rate is raised), then `per_minute` (default 30).
pub fn knock_limiter(per_minute: u32) -> limits::RateLimiter {
    limits::RateLimiter::new((per_minute / 2).max(20), per_minute)
}

/// Hellos with an unknown or revoked link, per address: a burst of 10, then
/// 10 a minute. Kept apart from the knock budget so that strangers guessing
/// links cannot use up the allowance of real members behind the same NAT.
pub fn bad_link_limiter() -> limits::RateLimiter {
    limits::RateLimiter::new(10, 10)
}

/// Password checks at once: half the cores (at least one, at most four).
/// Each takes ~50 ms of a core and 19 MiB; the rest of the machine stays
/// free for media and the waiting room however many logins arrive.
pub fn login_slots() -> Arc<tokio::sync::Semaphore> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Arc::new(tokio::sync::Semaphore::new((cores / 2).clamp(1, 4)))
}

/// Everything the handlers share.
pub struct AppState<M: MediaPlane> {
    /// The database.
    pub store: Arc<Store>,
    /// Logged-in facilitators.
    pub sessions: Arc<Sessions>,
    /// Open sessions.
    pub live: Arc<Live<M>>,
    /// Settings.
    pub settings: HttpSettings,
    /// Login attempts per address.
    pub login_limit: limits::RateLimiter,
    /// Knocks (with a valid link) per address.
    pub knock_limit: limits::RateLimiter,
    /// Hellos with a link that does not exist, per address.
    pub bad_link_limit: limits::RateLimiter,
    /// Failed logins per username.
    pub login_backoff: limits::LoginBackoff,
    /// Password checks that may run at once (see [`login_slots`]).
    pub login_slots: Arc<tokio::sync::Semaphore>,
    /// The one-time link that makes the first facilitator account.
    pub setup: setup::SetupLink,
    /// The clinic's TURN server, if it runs one.
    pub turn: Option<crate::turn::TurnSettings>,
}

impl<M: MediaPlane> AppState<M> {
    /// The logged-in account of a request, from its session cookie.
    pub fn account(&self, headers: &HeaderMap) -> Option<AccountId> {
        let token = session_cookie(headers)?;
        valid_login(&self.sessions, &self.store, &token)
    }

    /// The member-facing URL of an invite token.
    pub fn invite_url(&self, token: &str) -> String {
        format!(
            "{}/join/{}",
            self.settings.public_url.trim_end_matches('/'),
            token
        )
    }
}

/// The value of our session cookie, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// The account of a login that still holds: alive in memory, and in the
/// store enabled with no password change since it began (the
/// `haven facilitator` commands run in another process). A login that no
/// longer holds is ended.
pub fn valid_login(sessions: &Sessions, store: &Store, token: &str) -> Option<AccountId> {
    let login = sessions.touch_login(token, Instant::now())?;
    if store
        .login_allowed(login.account, login.began_ms)
        .unwrap_or(false)
    {
        Some(login.account)
    } else {
        sessions.end(token);
        None
    }
}

/// Whether a browser's `Origin` is Haven's own: the configured public URL's
/// origin. When the public URL itself is on loopback (a laptop, the tests),
/// any loopback origin is too: a page elsewhere cannot claim one, so DNS
/// rebinding gains nothing. The request's `Host` is never trusted for this
/// (a rebinding page controls it).
pub fn is_our_origin(origin: &str, public_url: &str) -> bool {
    let (Some((os, oa)), Some((ps, pa))) = (
        scheme_and_authority(origin),
        scheme_and_authority(public_url),
    ) else {
        return false;
    };
    (os.eq_ignore_ascii_case(ps) && oa.eq_ignore_ascii_case(pa))
        || (url_is_loopback(public_url) && url_is_loopback(origin))
}

fn scheme_and_authority(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    Some((scheme, rest.split('/').next()?))
}

/// Whether a URL's host is `localhost` or a loopback address.
pub fn url_is_loopback(url: &str) -> bool {
    let Some((_, authority)) = scheme_and_authority(url) else {
        return false;
    };
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The application.
pub fn app<M: MediaPlane>(state: Arc<AppState<M>>) -> Router {
    let hsts = state.settings.secure_cookies;
    let public_url = state.settings.public_url.clone();
    let json_api = Router::new()
        .route("/api/login", post(api::login::<M>))
        .route("/api/setup", post(setup::create_first::<M>))
        .route("/api/logout", post(api::logout::<M>))
        .route("/api/me", get(api::me::<M>))
        .route(
            "/api/groups",
            get(api::list_groups::<M>).post(api::create_group::<M>),
        )
        .route(
            "/api/groups/{group}/links",
            get(api::list_links::<M>).post(api::create_link::<M>),
        )
        .route("/api/groups/{group}/invite", post(api::rotate_invite::<M>))
        .route("/api/groups/{group}/words", post(words::set_words::<M>))
        .route("/api/invite/{token}", get(words::invite_words::<M>))
        .route("/api/invitations", get(api::invitations::<M>))
        .route(
            "/api/invitations/{group}",
            post(api::answer_invitation::<M>),
        )
        .route(
            "/api/groups/{group}/links/{link}",
            delete(api::revoke_link::<M>),
        )
        .route(
            "/api/groups/{group}/session",
            post(sessions::start_session::<M>).delete(sessions::end_session::<M>),
        )
        .layer(axum::middleware::from_fn_with_state(
            public_url,
            csrf::guard,
        ));
    Router::new()
        .route("/", get(web::console))
        .route("/join/{token}", get(web::join))
        .route("/setup/{token}", get(setup::page::<M>))
        .route("/static/{*path}", get(web::asset))
        .route("/healthz", get(|| async { "ok" }))
        .merge(json_api)
        .route("/ws", get(ws::upgrade::<M>))
        .layer(axum::middleware::from_fn(move |req, next| {
            web::security_headers(req, next, hsts)
        }))
        .with_state(state)
}
