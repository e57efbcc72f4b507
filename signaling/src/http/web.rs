//! The browser client (`web/`), embedded in the binary: no build step, no
//! third-party resources, served with a strict Content-Security-Policy.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Every file of the client: (path under /static, content type, contents).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../../web/style.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../../web/favicon.svg"),
    ),
    ("js/api.js", JS, include_str!("../../../web/js/api.js")),
    (
        "js/console.js",
        JS,
        include_str!("../../../web/js/console.js"),
    ),
    (
        "js/gallery.js",
        JS,
        include_str!("../../../web/js/gallery.js"),
    ),
    ("js/e2ee.js", JS, include_str!("../../../web/js/e2ee.js")),
    (
        "js/e2ee-worker.js",
        JS,
        include_str!("../../../web/js/e2ee-worker.js"),
    ),
    ("js/join.js", JS, include_str!("../../../web/js/join.js")),
    ("js/media.js", JS, include_str!("../../../web/js/media.js")),
    (
        "js/session.js",
        JS,
        include_str!("../../../web/js/session.js"),
    ),
    ("js/setup.js", JS, include_str!("../../../web/js/setup.js")),
    (
        "js/sframe.js",
        JS,
        include_str!("../../../web/js/sframe.js"),
    ),
    ("js/shell.js", JS, include_str!("../../../web/js/shell.js")),
    (
        "js/socket.js",
        JS,
        include_str!("../../../web/js/socket.js"),
    ),
    ("js/staff.js", JS, include_str!("../../../web/js/staff.js")),
];
const JS: &str = "text/javascript; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

const CONSOLE_PAGE: &str = include_str!("../../../web/index.html");
const JOIN_PAGE: &str = include_str!("../../../web/join.html");
const SETUP_PAGE: &str = include_str!("../../../web/setup.html");
const SETUP_USED_PAGE: &str = include_str!("../../../web/setup-used.html");

/// No inline script or style, nothing from another origin, no framing.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn page(html: &'static str) -> Response {
    ([(CONTENT_TYPE, HTML), (CACHE_CONTROL, "no-store")], html).into_response()
}

/// The facilitator console.
pub async fn console() -> Response {
    page(CONSOLE_PAGE)
}

/// The member's page (the token is read by the page and checked at `hello`).
pub async fn join(Path(_token): Path<String>) -> Response {
    page(JOIN_PAGE)
}

/// The first-run page (for the live setup token only).
pub fn setup_page() -> Response {
    page(SETUP_PAGE)
}

/// What a used or stale setup link shows.
pub fn setup_used_page() -> Response {
    let mut r = page(SETUP_USED_PAGE);
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// A static file of the client.
pub async fn asset(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|(p, _, _)| *p == path) {
        Some((_, content_type, body)) => (
            [(CONTENT_TYPE, *content_type), (CACHE_CONTROL, "no-cache")],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// Security headers on every response (HSTS when served over TLS).
pub async fn security_headers(request: axum::extract::Request, next: Next, hsts: bool) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, "content-security-policy", CONTENT_SECURITY_POLICY);
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "no-referrer");
    set(
        h,
        "permissions-policy",
        "camera=(self), microphone=(self), display-capture=(), geolocation=()",
    );
    set(h, "x-frame-options", "DENY");
    set(h, "cross-origin-opener-policy", "same-origin");
    if hsts {
        set(h, "strict-transport-security", "max-age=31536000");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every HTML page, as (path, type, body) like the assets.
    const PAGES: [(&str, &str, &str); 4] = [
        ("", "", CONSOLE_PAGE),
        ("", "", JOIN_PAGE),
        ("", "", SETUP_PAGE),
        ("", "", SETUP_USED_PAGE),
    ];

    #[test]
    fn every_module_the_pages_import_is_served() {
        for (_, _, body) in ASSETS.iter().chain(PAGES.iter()) {
            for line in body.lines() {
                let Some(i) = line
                    .find("from './")
                    .or_else(|| line.find("src=\"/static/"))
                    .or_else(|| line.find("href=\"/static/"))
                else {
                    continue;
                };
                let rest = &line[i..];
                let name = rest.split(['\'', '"']).nth(1).unwrap_or("");
                let path = name.trim_start_matches("./").trim_start_matches("/static/");
                let path =
                    if path.starts_with("js/") || (path.contains('.') && !path.ends_with(".js")) {
                        path.to_owned()
                    } else {
                        format!("js/{path}")
                    };
                assert!(
                    ASSETS.iter().any(|(p, _, _)| *p == path),
                    "{path} is imported but not embedded"
                );
            }
        }
    }

    #[test]
    fn the_client_has_no_inline_script_and_no_external_resource() {
        for (_, _, body) in ASSETS.iter().chain(PAGES.iter()) {
            assert!(
                !body.contains("<script>")
                    && !body.contains(" onclick=")
                    && !body.contains(" style=\""),
                "inline script or style"
            );
            // An SVG names its XML namespace with a URL; nothing is fetched.
            let body = body.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
            assert!(
                !body.contains("http://") && !body.contains("https://"),
                "external origin in the client"
            );
        }
    }
}
