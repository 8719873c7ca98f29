//! The dashboard at `/`: one HTML page, its script and style, and the vendored chart
//! library (Chart.js, exact version, its licence beside it), all compiled into the
//! binary. The page calls the JSON API; nothing is fetched from elsewhere.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::service::Service;

/// The vendored chart library: `npm pack chart.js@4.5.1`, `package/dist/chart.umd.min.js`.
pub const CHART_JS_VERSION: &str = "4.5.1";

const INDEX: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/dashboard.js");
const STYLE: &str = include_str!("../assets/dashboard.css");
const CHART_JS: &[u8] = include_bytes!("../assets/chart-4.5.1.umd.min.js");
const CHART_JS_LICENSE: &str = include_str!("../assets/chart-4.5.1.LICENSE.md");

fn asset(content_type: &'static str, body: &'static [u8]) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
}

/// Routes of the dashboard and its assets.
pub(crate) fn router() -> Router<Service> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX.as_bytes()) }),
        )
        .route(
            "/assets/dashboard.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT.as_bytes()) }),
        )
        .route(
            "/assets/dashboard.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE.as_bytes()) }),
        )
        .route(
            "/assets/chart-4.5.1.umd.min.js",
            get(|| async { asset("text/javascript; charset=utf-8", CHART_JS) }),
        )
        .route(
            "/assets/chart-4.5.1.LICENSE.md",
            get(|| async { asset("text/plain; charset=utf-8", CHART_JS_LICENSE.as_bytes()) }),
        )
}
