//! Requests that change something must come from Haven's own pages. The
//! session cookie is `SameSite=Strict`, but CSRF defence should not rest on
//! one browser feature alone, so every state-changing request is also
//! checked here:
//! * `Sec-Fetch-Site` (sent by every current browser), when present, must
//!   be `same-origin` (or `none`: typed by the user);
//! * otherwise `Origin`, when present, must be ours (see `is_our_origin`);
//! * a `POST` must say `Content-Type: application/json`, which no plain
//!   HTML form can send and which makes a browser ask first (CORS
//!   preflight, which Haven never grants) before a cross-site `fetch`.
//!
//! Clients that are not browsers send neither header and must still log in.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Why a request was refused, if it was.
pub fn refusal(
    method: &Method,
    headers: &HeaderMap,
    public_url: &str,
) -> Option<(StatusCode, &'static str, &'static str)> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let cross_site = match value("sec-fetch-site") {
        Some(site) => !matches!(site, "same-origin" | "none"),
        None => {
            value(header::ORIGIN.as_str()).is_some_and(|o| !super::is_our_origin(o, public_url))
        }
    };
    if cross_site {
        return Some((
            StatusCode::FORBIDDEN,
            "cross_site",
            "Changes can only be made from Haven's own pages.",
        ));
    }
    let json = value(header::CONTENT_TYPE.as_str()).is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if *method == Method::POST && !json {
        return Some((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "json_required",
            "Send JSON (Content-Type: application/json), even if it is just {}.",
        ));
    }
    None
}

/// The middleware on `/api`.
pub async fn guard(State(public_url): State<String>, req: Request, next: Next) -> Response {
    match refusal(req.method(), req.headers(), &public_url) {
        Some((status, code, message)) => {
            (status, Json(json!({ "error": code, "message": message }))).into_response()
        }
        None => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, v.parse().unwrap());
        }
        m
    }

    #[test]
    fn only_our_pages_change_things_and_only_with_json() {
        let url = "https://haven.clinic.example";
        let json = ("content-type", "application/json");
        let ok = |m: &Method, hs: &[(&'static str, &str)]| refusal(m, &h(hs), url).is_none();
        assert!(
            ok(&Method::GET, &[("sec-fetch-site", "cross-site")]),
            "reads are not checked"
        );
        assert!(ok(
            &Method::POST,
            &[json, ("sec-fetch-site", "same-origin")]
        ));
        assert!(ok(&Method::POST, &[json]), "not a browser");
        assert!(ok(
            &Method::POST,
            &[
                ("content-type", "application/json; charset=utf-8"),
                ("origin", url)
            ]
        ));
        assert!(!ok(
            &Method::POST,
            &[json, ("sec-fetch-site", "cross-site")]
        ));
        assert!(!ok(&Method::POST, &[json, ("sec-fetch-site", "same-site")]));
        assert!(!ok(&Method::DELETE, &[("origin", "https://evil.example")]));
        assert!(!ok(&Method::POST, &[("content-type", "text/plain")]));
        assert!(!ok(&Method::POST, &[]), "no body at all");
        assert!(ok(&Method::DELETE, &[("sec-fetch-site", "same-origin")]));
    }
}
