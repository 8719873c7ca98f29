//! The HTTP layer around the handlers: OpenAPI document and docs page, dashboard,
//! JSON 404 fallback, and the middleware (tower-http): request ids, access logs
//! (tracing), panics as 500s, request head/body limits, timeout, CORS, compression,
//! Prometheus metrics by route and status, and JSON bodies for every error.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::ServeConfig;
use crate::error::{ErrorBody, error_response};
use crate::service::Service;

/// Limits and CORS settings of the middleware.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub timeout: Duration,
    pub max_body: usize,
    pub max_head: usize,
    pub cors_origins: Vec<String>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: Duration::from_secs(10),
            max_body: 64 * 1024,
            max_head: 16 * 1024,
            cors_origins: Vec::new(),
        }
    }
}

impl Limits {
    pub fn from_config(c: &ServeConfig) -> Limits {
        Limits {
            timeout: Duration::from_secs(c.request_timeout_seconds.max(1)),
            max_body: c.max_body_bytes,
            max_head: c.max_header_bytes,
            cors_origins: c
                .cors_origins
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }
}

/// The API router and its OpenAPI document.
pub(crate) fn router_and_openapi(_limits: &Limits) -> (Router<Service>, OpenApi) {
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    let (router, mut api) = crate::routes::api_router().split_for_parts();
    // `info` is set whole: the derive behind `OpenApiRouter` fills `contact` with its
    // own crate's author, who has nothing to do with this service.
    api.info = info();
    api.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    (router, api)
}

/// The document's `info`: ours, and nothing else (no contact: the project's repository
/// is in the description's licence terms and the workspace manifest).
pub(crate) fn info() -> utoipa::openapi::Info {
    utoipa::openapi::InfoBuilder::new()
        .title("reviewlake API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Reviews of Yelp and Google Maps businesses: recommendations, business details, \
             search, timelines, KPIs, site-selection candidates, growth predictions and the \
             model registry, answered from the lake's latest snapshot.",
        ))
        .license(Some(utoipa::openapi::License::new("Apache-2.0")))
        .contact(None)
        .build()
}

/// Adds docs, dashboard, fallback and middleware, and the state.
pub(crate) fn finish(
    router: Router<Service>,
    api: OpenApi,
    service: Service,
    limits: &Limits,
) -> Router {
    let cors = if limits.cors_origins.iter().any(|o| o == "*") {
        CorsLayer::new().allow_origin(Any)
    } else {
        let origins: Vec<HeaderValue> = limits
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        CorsLayer::new().allow_origin(AllowOrigin::list(origins))
    }
    .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
    .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
    .expose_headers([header::HeaderName::from_static("x-request-id")]);

    let max_head = limits.max_head;
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request<Body>| {
            let id = req
                .extensions()
                .get::<RequestId>()
                .and_then(|r| r.header_value().to_str().ok())
                .unwrap_or("-");
            tracing::info_span!(
                "request",
                method = %req.method(),
                path = %req.uri().path(),
                request_id = %id,
            )
        })
        .on_request(())
        .on_failure(DefaultOnFailure::new().level(Level::WARN))
        .on_response(
            DefaultOnResponse::new()
                .level(Level::INFO)
                .latency_unit(tower_http::LatencyUnit::Micros),
        );

    router
        .merge(SwaggerUi::new("/docs").url("/openapi.json", api))
        .merge(crate::dashboard::router())
        .fallback(not_found)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(trace)
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::custom(panic_response))
                .layer(middleware::from_fn(move |req, next| {
                    head_limit(req, next, max_head)
                }))
                .layer(middleware::map_response(json_errors))
                .layer(middleware::from_fn(record_metrics))
                .layer(cors)
                .layer(CompressionLayer::new())
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    limits.timeout,
                ))
                .layer(RequestBodyLimitLayer::new(limits.max_body)),
        )
        .with_state(service)
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        ErrorBody::new("not_found", format!("no route for {method} {}", uri.path())),
    )
}

fn panic_response(_err: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("a handler panicked");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorBody::new("internal", "internal error (see the server log)"),
    )
}

/// 414 for a request target longer than the head limit, 431 for headers beyond it
/// (hyper's own limits are far larger).
async fn head_limit(req: Request, next: Next, max: usize) -> Response {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > max {
        return error_response(
            StatusCode::URI_TOO_LONG,
            ErrorBody::new(
                "uri_too_long",
                format!("the request target exceeds {max} bytes"),
            ),
        );
    }
    let headers: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if headers + target > max {
        return error_response(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorBody::new(
                "headers_too_large",
                format!("the request head exceeds {max} bytes"),
            ),
        );
    }
    next.run(req).await
}

/// Gives every error response without a JSON body one (405 from the router, 413 from
/// the body limit, 503 from the timeout, ...), keeping its status and headers.
async fn json_errors(mut res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // The body was refused unread: the connection cannot carry another request, and
        // a client that reused it would race the close.
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return res;
    }
    let kind = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::SERVICE_UNAVAILABLE => "timeout",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::NOT_FOUND => "not_found",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = status.canonical_reason().unwrap_or("error").to_string();
    let (mut parts, _) = res.into_parts();
    let body = serde_json::to_vec(&ErrorBody::new(kind, message)).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

/// `http_requests_total` and `http_request_duration_seconds` by method, route (the
/// route template, `unmatched` otherwise) and status.
async fn record_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = req.method().as_str().to_string();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    res
}

/// The process-wide Prometheus recorder.
pub(crate) fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[
                        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                        0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    ],
                )
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            metrics::describe_counter!(
                "http_requests_total",
                "HTTP requests by method, route and status"
            );
            metrics::describe_histogram!(
                "http_request_duration_seconds",
                metrics::Unit::Seconds,
                "HTTP request latency by method, route and status"
            );
            metrics::describe_gauge!(
                "reviewlake_snapshot_id",
                "The catalog snapshot answered from"
            );
            Some(handle)
        })
        .clone()
}
