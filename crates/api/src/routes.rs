//! The handlers of the JSON API, each with its OpenAPI description (`utoipa::path`);
//! [`api_router`] collects them into an `OpenApiRouter` so the document served at
//! `/openapi.json` is generated from these very handlers.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::{ApiPath, ApiQuery};
use crate::resources::*;
use crate::service::Service;
use crate::snapshot::{BusinessFilter, KpiKey, LoadedSnapshot, SearchOrder, finite};

/// Largest `n` of recommendations and similar businesses.
pub const MAX_N: u32 = 100;
/// Largest page of a listing.
pub const MAX_LIMIT: u32 = 1000;
/// Largest offset of a listing.
pub const MAX_OFFSET: u64 = 1_000_000_000;

/// The API routes with their OpenAPI paths.
pub fn api_router() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics_text))
        .routes(routes!(snapshot))
        .routes(routes!(recommendations))
        .routes(routes!(search_businesses))
        .routes(routes!(business))
        .routes(routes!(similar))
        .routes(routes!(timeline))
        .routes(routes!(kpis))
        .routes(routes!(category_trends))
        .routes(routes!(sentiment))
        .routes(routes!(sites))
        .routes(routes!(growth))
        .routes(routes!(models))
        .routes(routes!(facets))
        .routes(routes!(reload))
}

// ---------------------------------------------------------------- parameters

fn parse_source(s: &str) -> Result<Source> {
    // Exactly as the OpenAPI enum spells them (the lake's own parse also trims and
    // ignores case).
    Source::ALL
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or_else(|| {
            ApiError::bad(
                "source",
                format!("unknown source {s:?}: use yelp or google"),
            )
        })
}

/// An optional text filter: empty means "no filter".
fn text(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

fn bounded_n(n: Option<u32>, name: &str) -> Result<usize> {
    match n {
        None => Ok(10),
        Some(n) if (1..=MAX_N).contains(&n) => Ok(n as usize),
        Some(n) => Err(ApiError::bad(
            name,
            format!("{n} is out of range 1..={MAX_N}"),
        )),
    }
}

fn page(limit: Option<u32>, offset: Option<u64>, default: u32) -> Result<(usize, usize)> {
    let limit = match limit {
        None => default,
        Some(l) if (1..=MAX_LIMIT).contains(&l) => l,
        Some(l) => {
            return Err(ApiError::bad(
                "limit",
                format!("{l} is out of range 1..={MAX_LIMIT}"),
            ));
        }
    };
    let offset = match offset {
        None => 0,
        Some(o) if o <= MAX_OFFSET => o,
        Some(o) => {
            return Err(ApiError::bad(
                "offset",
                format!("{o} is out of range 0..={MAX_OFFSET}"),
            ));
        }
    };
    Ok((limit as usize, offset as usize))
}

/// An optional date: absent means "no bound"; given, it must be a date (an empty
/// value is a 400, as the OpenAPI `date` format says).
fn parse_date(v: Option<String>, name: &str) -> Result<Option<chrono::NaiveDate>> {
    match v {
        None => Ok(None),
        Some(s) => chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Some)
            .map_err(|e| ApiError::bad(name, format!("{s:?} is not a date YYYY-MM-DD ({e})"))),
    }
}

fn business_json(snap: &LoadedSnapshot, idx: u32) -> Business {
    snap.business(idx).clone()
}

fn find_business(snap: &LoadedSnapshot, source: &str, id: &str) -> Result<u32> {
    let source = parse_source(source)?;
    snap.business_by_native(source, id).ok_or_else(|| {
        ApiError::NotFound(format!("no {} business with id {id:?}", source.as_str()))
    })
}

// ---------------------------------------------------------------- health

/// Liveness: 200 as long as the process serves.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "Alive", body = Health)))]
async fn healthz(State(svc): State<Service>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        snapshot_id: svc.snapshot_id(),
    })
}

/// Readiness: 200 once a snapshot is loaded, 503 before.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "A snapshot is loaded", body = Health),
        (status = 503, description = "Still loading", body = Health)))]
async fn readyz(State(svc): State<Service>) -> Response {
    if svc.is_ready() {
        Json(Health {
            status: "ready".into(),
            snapshot_id: svc.snapshot_id(),
        })
        .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "loading".into(),
                snapshot_id: None,
            }),
        )
            .into_response()
    }
}

/// Prometheus metrics: request counts and latency histograms by route and status.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
async fn metrics_text(State(svc): State<Service>) -> Response {
    let body = svc.metrics().map(|h| h.render()).unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------- snapshot, admin

/// The snapshot the service answers from: id, tables and versions, load accounting.
#[utoipa::path(get, path = "/v1/snapshot", tag = "lake",
    responses(
        (status = 200, description = "The loaded snapshot", body = SnapshotInfo),
        (status = 503, description = "No snapshot loaded yet", body = ErrorBody)))]
async fn snapshot(State(svc): State<Service>) -> Result<Json<SnapshotInfo>> {
    Ok(Json(svc.snapshot()?.info().clone()))
}

/// Query of `POST /v1/admin/reload`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ReloadQuery {
    /// Reload even if the latest snapshot is the one loaded.
    #[param(value_type = bool)]
    #[serde(default)]
    force: Option<bool>,
}

/// Loads the lake's latest snapshot now (if newer, or always with `force=true`).
/// Needs `Authorization: Bearer <REVIEWLAKE_ADMIN_TOKEN>`.
#[utoipa::path(post, path = "/v1/admin/reload", tag = "lake", params(ReloadQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Done", body = Reloaded),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 401, description = "No bearer token", body = ErrorBody),
        (status = 403, description = "Wrong token, or no admin token configured", body = ErrorBody)))]
async fn reload(
    State(svc): State<Service>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<ReloadQuery>,
) -> Result<Json<Reloaded>> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(given) = given else {
        return Err(ApiError::Unauthorized(
            "send Authorization: Bearer <REVIEWLAKE_ADMIN_TOKEN>".into(),
        ));
    };
    let Some(token) = svc.admin_token() else {
        return Err(ApiError::Forbidden(
            "admin endpoints are disabled (no REVIEWLAKE_ADMIN_TOKEN)".into(),
        ));
    };
    if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
        return Err(ApiError::Forbidden("wrong admin token".into()));
    }
    Ok(Json(svc.reload(q.force.unwrap_or(false)).await?))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---------------------------------------------------------------- recommendations

/// Query of the recommendations endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RecommendQuery {
    /// How many businesses (1 to 100, default 10).
    #[param(value_type = u32, minimum = 1, maximum = 100)]
    #[serde(default)]
    n: Option<u32>,
    /// Only businesses of this state (code, any case).
    #[param(value_type = String)]
    #[serde(default)]
    state: Option<String>,
    /// Only businesses of this city (any case).
    #[param(value_type = String)]
    #[serde(default)]
    city: Option<String>,
    /// Only businesses of this shared category (`restaurant`, `mexican`, ...).
    #[param(value_type = String)]
    #[serde(default)]
    category: Option<String>,
}

/// Top-n businesses for a user, by native Yelp or Google user id, by the serving policy
/// of the current `als` version: each user segment (by number of ratings) is served by
/// the candidate that ranked it best on held-out data (the explicit model, or a
/// baseline), else (or to complete the list) popular, well-rated places (cold start).
/// Never a business the user already reviewed, nor a closed one.
#[utoipa::path(get, path = "/v1/users/{source}/{id}/recommendations", tag = "recommendations",
    params(
        ("source" = Source, Path, description = "Platform"),
        ("id" = String, Path, description = "Native user id"),
        RecommendQuery),
    responses(
        (status = 200, description = "Recommendations", body = Recommendations),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 503, description = "No snapshot loaded yet", body = ErrorBody)))]
async fn recommendations(
    State(svc): State<Service>,
    ApiPath((source, id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<RecommendQuery>,
) -> Result<Response> {
    let source = parse_source(&source)?;
    let n = bounded_n(q.n, "n")?;
    let snap = svc.snapshot()?;
    let filter = BusinessFilter {
        state: text(q.state),
        city: text(q.city),
        category: text(q.category),
        ..BusinessFilter::default()
    };
    let out = snap.recommend(source, &id, n, &filter);
    let cold_start = out.items.iter().all(|i| i.cold_start);
    let model = snap.als_model().cloned().filter(|_| {
        out.items
            .iter()
            .any(|i| !i.cold_start && snap.als_kind() == Some(&*i.model))
    });
    let user = UserRef {
        source,
        id,
        user_key: out.user_key,
        reviewed: out.reviewed as i64,
        in_model: out.in_model,
        segment: out.segment.as_deref().map(str::to_string),
    };
    // `Recommendations` as JSON, each business's object copied from the snapshot's
    // serialization instead of built and serialized per request.
    let json = |e: serde_json::Error| ApiError::Data(format!("serialising an answer: {e}"));
    let mut body: Vec<u8> = Vec::with_capacity(256 + out.items.len() * 640);
    body.extend_from_slice(b"{\"snapshot_id\":");
    serde_json::to_writer(&mut body, &snap.id()).map_err(json)?;
    body.extend_from_slice(b",\"user\":");
    serde_json::to_writer(&mut body, &user).map_err(json)?;
    body.extend_from_slice(b",\"model\":");
    serde_json::to_writer(&mut body, &model).map_err(json)?;
    body.extend_from_slice(b",\"cold_start\":");
    body.extend_from_slice(if cold_start { b"true" } else { b"false" });
    body.extend_from_slice(b",\"items\":[");
    for (r, it) in out.items.iter().enumerate() {
        if r > 0 {
            body.push(b',');
        }
        body.extend_from_slice(format!("{{\"rank\":{},\"score\":", r + 1).as_bytes());
        serde_json::to_writer(&mut body, &it.score).map_err(json)?;
        body.extend_from_slice(b",\"cold_start\":");
        body.extend_from_slice(if it.cold_start { b"true" } else { b"false" });
        body.extend_from_slice(b",\"model\":");
        serde_json::to_writer(&mut body, &*it.model).map_err(json)?;
        body.extend_from_slice(b",\"business\":");
        body.extend_from_slice(snap.business_json(it.business).as_bytes());
        body.push(b'}');
    }
    body.extend_from_slice(b"]}");
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

// ---------------------------------------------------------------- businesses

/// Search order of `GET /v1/businesses`.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum Sort {
    /// Most reviewed first (platform review count).
    Reviews,
    /// Best rated first (then most reviewed).
    Rating,
    /// By name.
    Name,
}

/// Query of the business search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    /// State code (any case).
    #[param(value_type = String)]
    #[serde(default)]
    state: Option<String>,
    /// City (any case).
    #[param(value_type = String)]
    #[serde(default)]
    city: Option<String>,
    /// Shared category.
    #[param(value_type = String)]
    #[serde(default)]
    category: Option<String>,
    /// Platform.
    #[param(value_type = Source)]
    #[serde(default)]
    source: Option<Source>,
    /// Minimum platform rating (0 to 5).
    #[param(value_type = f64, minimum = 0, maximum = 5)]
    #[serde(default)]
    min_rating: Option<f64>,
    /// Text the name contains (any case).
    #[param(value_type = String)]
    #[serde(default)]
    q: Option<String>,
    /// Order: `reviews` (default), `rating` or `name`; ties by `business_key`.
    #[param(value_type = Sort, inline)]
    #[serde(default)]
    sort: Option<Sort>,
    /// Page size (1 to 1000, default 20).
    #[param(value_type = u32, minimum = 1, maximum = 1000)]
    #[serde(default)]
    limit: Option<u32>,
    /// Businesses to skip (default 0).
    #[param(value_type = u64, minimum = 0, maximum = 1000000000)]
    #[serde(default)]
    offset: Option<u64>,
}

/// Searches businesses by state, city, category, platform, minimum rating and name,
/// one page at a time, with the total.
#[utoipa::path(get, path = "/v1/businesses", tag = "businesses", params(SearchQuery),
    responses(
        (status = 200, description = "A page of businesses", body = BusinessPage),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 503, description = "No snapshot loaded yet", body = ErrorBody)))]
async fn search_businesses(
    State(svc): State<Service>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<BusinessPage>> {
    let (limit, offset) = page(q.limit, q.offset, 20)?;
    if let Some(r) = q.min_rating
        && !(0.0..=5.0).contains(&r)
    {
        return Err(ApiError::bad(
            "min_rating",
            format!("{r} is out of range 0..=5"),
        ));
    }
    let snap = svc.snapshot()?;
    let mut filter = BusinessFilter {
        state: text(q.state),
        city: text(q.city),
        category: text(q.category),
        source: q.source,
        min_rating: q.min_rating,
        name: None,
    };
    if let Some(t) = text(q.q) {
        filter = filter.name_contains(&t);
    }
    let order = match q.sort.unwrap_or(Sort::Reviews) {
        Sort::Reviews => SearchOrder::Reviews,
        Sort::Rating => SearchOrder::Rating,
        Sort::Name => SearchOrder::Name,
    };
    let (total, items) = snap.search(&filter, order, limit, offset);
    Ok(Json(BusinessPage {
        snapshot_id: snap.id(),
        total: total as i64,
        limit: limit as i64,
        offset: offset as i64,
        items: items.into_iter().map(|i| business_json(&snap, i)).collect(),
    }))
}

/// One business by its native id: name, address, state, city, rating, categories and
/// features.
#[utoipa::path(get, path = "/v1/businesses/{source}/{id}", tag = "businesses",
    params(
        ("source" = Source, Path, description = "Platform"),
        ("id" = String, Path, description = "Native business id (Yelp business_id, Google gmap_id)")),
    responses(
        (status = 200, description = "The business", body = Business),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 404, description = "No such business", body = ErrorBody),
        (status = 503, description = "No snapshot loaded yet", body = ErrorBody)))]
async fn business(
    State(svc): State<Service>,
    ApiPath((source, id)): ApiPath<(String, String)>,
) -> Result<Json<Business>> {
    let snap = svc.snapshot()?;
    let idx = find_business(&snap, &source, &id)?;
    Ok(Json(business_json(&snap, idx)))
}

/// Query of the similar-businesses endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SimilarQuery {
    /// How many businesses (1 to 100, default 10).
    #[param(value_type = u32, minimum = 1, maximum = 100)]
    #[serde(default)]
    n: Option<u32>,
}

/// Businesses similar to one business ("people who liked X also liked Y"), from the
/// models zone's `similar_businesses`, or the current ALS model's item factors; an
/// empty list without a model.
#[utoipa::path(get, path = "/v1/businesses/{source}/{id}/similar", tag = "businesses",
    params(
        ("source" = Source, Path, description = "Platform"),
        ("id" = String, Path, description = "Native business id"),
        SimilarQuery),
    responses(
        (status = 200, description = "Similar businesses", body = Similar),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 404, description = "No such business", body = ErrorBody),
        (status = 503, description = "No snapshot loaded yet", body = ErrorBody)))]
async fn similar(
    State(svc): State<Service>,
    ApiPath((source, id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<SimilarQuery>,
) -> Result<Json<Similar>> {
    let n = bounded_n(q.n, "n")?;
    let snap = svc.snapshot()?;
    let idx = find_business(&snap, &source, &id)?;
    let (method, model, rows) = snap.similar(idx, n);
    Ok(Json(Similar {
        snapshot_id: snap.id(),
        business: business_json(&snap, idx),
        method: method.to_string(),
        model,
        items: rows
            .into_iter()
            .map(|(b, rank, score)| SimilarBusiness {
                rank,
                score,
                business: business_json(&snap, b),
            })
            .collect(),
    }))
}

/// Sentiment and rating of a business by month (`business_month`).
#[utoipa::path(get, path = "/v1/businesses/{source}/{id}/timeline", tag = "businesses",
    params(
        ("source" = Source, Path, description = "Platform"),
        ("id" = String, Path, description = "Native business id")),
    responses(
        (status = 200, description = "Months, oldest first", body = Timeline),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 404, description = "No such business", body = ErrorBody),
        (status = 503, description = "No snapshot loaded yet", body = ErrorBody)))]
async fn timeline(
    State(svc): State<Service>,
    ApiPath((source, id)): ApiPath<(String, String)>,
) -> Result<Json<Timeline>> {
    let snap = svc.snapshot()?;
    let idx = find_business(&snap, &source, &id)?;
    Ok(Json(Timeline {
        snapshot_id: snap.id(),
        business: business_json(&snap, idx),
        months: snap.timeline(idx),
    }))
}

// ---------------------------------------------------------------- KPIs

/// Query of `GET /v1/kpis`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct KpiQuery {
    /// One KPI (default: all five).
    #[param(value_type = KpiName)]
    #[serde(default)]
    kpi: Option<KpiName>,
    /// Grain (default `month`).
    #[param(value_type = Grain)]
    #[serde(default)]
    grain: Option<Grain>,
    /// First period (`YYYY-MM-DD`, inclusive).
    #[param(value_type = String, format = Date)]
    #[serde(default)]
    from: Option<String>,
    /// Last period (`YYYY-MM-DD`, inclusive).
    #[param(value_type = String, format = Date)]
    #[serde(default)]
    to: Option<String>,
    /// State (default: all states).
    #[param(value_type = String)]
    #[serde(default)]
    state: Option<String>,
    /// Shared category (default: all categories).
    #[param(value_type = String)]
    #[serde(default)]
    category: Option<String>,
    /// Platform (default: both).
    #[param(value_type = Source)]
    #[serde(default)]
    source: Option<Source>,
}

/// The KPIs (docs/KPIS.md) of one group over time: retention, review growth, rating and
/// sentiment variation, check-in retention, with their targets.
#[utoipa::path(get, path = "/v1/kpis", tag = "kpis", params(KpiQuery),
    responses(
        (status = 200, description = "KPI series", body = Kpis),
        (status = 400, description = "Bad parameter (unknown kpi or grain, bad date)", body = ErrorBody),
        (status = 503, description = "No snapshot loaded yet", body = ErrorBody)))]
async fn kpis(State(svc): State<Service>, ApiQuery(q): ApiQuery<KpiQuery>) -> Result<Json<Kpis>> {
    let grain = q.grain.unwrap_or(Grain::Month);
    let from = parse_date(q.from, "from")?;
    let to = parse_date(q.to, "to")?;
    let snap = svc.snapshot()?;
    let state = text(q.state).map(|s| s.to_uppercase());
    let category = text(q.category).map(|s| s.to_lowercase());
    let asked: Vec<KpiName> = match q.kpi {
        Some(k) => vec![k],
        None => KpiName::ALL.to_vec(),
    };
    let series = asked
        .into_iter()
        .map(|k| {
            let key: KpiKey = (k, grain, state.clone(), category.clone(), q.source);
            KpiSeries {
                kpi: k,
                target: k.target(),
                points: snap.kpi_points(&key, from, to),
            }
        })
        .collect();
    Ok(Json(Kpis {
        snapshot_id: snap.id(),
        grain,
        state,
        category,
        source: q.source,
        from: from.map(|d| d.to_string()),
        to: to.map(|d| d.to_string()),
        series,
    }))
}

/// Query of `GET /v1/categories/trends`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct TrendsQuery {
    /// Grain (default `quarter`).
    #[param(value_type = Grain)]
    #[serde(default)]
    grain: Option<Grain>,
    /// State (default: all states).
    #[param(value_type = String)]
    #[serde(default)]
    state: Option<String>,
    /// Platform (default: both).
    #[param(value_type = Source)]
    #[serde(default)]
    source: Option<Source>,
    /// The period (`YYYY-MM-DD`, a period start; default: the latest with data).
    #[param(value_type = String, format = Date)]
    #[serde(default)]
    period: Option<String>,
    /// Categories per list (1 to 100, default 5).
    #[param(value_type = u32, minimum = 1, maximum = 100)]
    #[serde(default)]
    limit: Option<u32>,
}

/// Rising and declining categories: the `review_growth_rate` KPI of every category in
/// one period.
#[utoipa::path(get, path = "/v1/categories/trends", tag = "kpis", params(TrendsQuery),
    responses(
        (status = 200, description = "Rising and declining categories", body = CategoryTrends),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 503, description = "No snapshot loaded yet", body = ErrorBody)))]
async fn category_trends(
    State(svc): State<Service>,
    ApiQuery(q): ApiQuery<TrendsQuery>,
) -> Result<Json<CategoryTrends>> {
    let grain = q.grain.unwrap_or(Grain::Quarter);
    let period = parse_date(q.period, "period")?;
    let limit = match q.limit {
        None => 5,
        Some(l) if (1..=100).contains(&l) => l as usize,
        Some(l) => {
            return Err(ApiError::bad(
                "limit",
                format!("{l} is out of range 1..=100"),
            ));
        }
    };
    let snap = svc.snapshot()?;
    let state = text(q.state).map(|s| s.to_uppercase());
    let (p, rising, declining) =
        snap.category_trends(grain, state.as_deref(), q.source, period, limit);
    Ok(Json(CategoryTrends {
        snapshot_id: snap.id(),
        grain,
        state,
        source: q.source,
        period_start: p.map(|d| d.to_string()),
        rising,
        declining,
    }))
}

/// Query of `GET /v1/sentiment`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SentimentQuery {
    /// State (default: all states).
    #[param(value_type = String)]
    #[serde(default)]
    state: Option<String>,
}

/// The distribution of review sentiment (VADER compound) by platform.
#[utoipa::path(get, path = "/v1/sentiment", tag = "kpis", params(SentimentQuery),
    responses(
        (status = 200, description = "Histograms by platform", body = SentimentDistribution),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 503, description = "No snapshot loaded yet", body = ErrorBody)))]
async fn sentiment(
    State(svc): State<Service>,
    ApiQuery(q): ApiQuery<SentimentQuery>,
) -> Result<Json<SentimentDistribution>> {
    let snap = svc.snapshot()?;
    let state = text(q.state).map(|s| s.to_uppercase());
    Ok(Json(SentimentDistribution {
        snapshot_id: snap.id(),
        bin_edges: (0..=crate::snapshot::SENTIMENT_BINS)
            .map(|i| (i as f64 - 10.0) / 10.0)
            .collect(),
        sources: snap.sentiment(state.as_deref()),
        state,
    }))
}

// ---------------------------------------------------------------- models

/// Query of `GET /v1/sites`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SitesQuery {
    /// State (any case; default: all).
    #[param(value_type = String)]
    #[serde(default)]
    state: Option<String>,
    /// Shared category (default: all rows, the all-restaurants ones included).
    #[param(value_type = String)]
    #[serde(default)]
    category: Option<String>,
    /// At most this many (1 to 1000, default 100).
    #[param(value_type = u32, minimum = 1, maximum = 1000)]
    #[serde(default)]
    limit: Option<u32>,
}

/// Site-selection candidates: areas for a new branch, ranked per state, with the
/// components of their opportunity score and the reasons. Empty without the models zone.
#[utoipa::path(get, path = "/v1/sites", tag = "models", params(SitesQuery),
    responses(
        (status = 200, description = "Candidate areas", body = Sites),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 503, description = "No snapshot loaded yet", body = ErrorBody)))]
async fn sites(
    State(svc): State<Service>,
    ApiQuery(q): ApiQuery<SitesQuery>,
) -> Result<Json<Sites>> {
    let (limit, _) = page(q.limit, None, 100)?;
    let snap = svc.snapshot()?;
    let state = text(q.state);
    let category = text(q.category);
    let matching: Vec<&SiteCandidate> = snap
        .sites
        .iter()
        .filter(|s| {
            state
                .as_ref()
                .is_none_or(|st| s.state.eq_ignore_ascii_case(st))
        })
        .filter(|s| {
            category.as_ref().is_none_or(|c| {
                s.category
                    .as_ref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(c))
            })
        })
        .collect();
    Ok(Json(Sites {
        snapshot_id: snap.id(),
        total: matching.len() as i64,
        items: matching.into_iter().take(limit).cloned().collect(),
    }))
}

/// Query of `GET /v1/growth`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct GrowthQuery {
    /// `business` or `category_state` (default: both).
    #[param(value_type = String)]
    #[serde(default)]
    level: Option<String>,
    /// State (any case).
    #[param(value_type = String)]
    #[serde(default)]
    state: Option<String>,
    /// Shared category.
    #[param(value_type = String)]
    #[serde(default)]
    category: Option<String>,
    /// Predicted class: `grow` or `decline`.
    #[param(value_type = String)]
    #[serde(default)]
    class: Option<String>,
    /// Model name.
    #[param(value_type = String)]
    #[serde(default)]
    model: Option<String>,
    /// Page size (1 to 1000, default 50).
    #[param(value_type = u32, minimum = 1, maximum = 1000)]
    #[serde(default)]
    limit: Option<u32>,
    /// Predictions to skip.
    #[param(value_type = u64, minimum = 0, maximum = 1000000000)]
    #[serde(default)]
    offset: Option<u64>,
}

/// Growth and decline predictions of businesses and category × state groups, most
/// probable growth first. Empty without the models zone.
#[utoipa::path(get, path = "/v1/growth", tag = "models", params(GrowthQuery),
    responses(
        (status = 200, description = "Predictions", body = Growth),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 503, description = "No snapshot loaded yet", body = ErrorBody)))]
async fn growth(
    State(svc): State<Service>,
    ApiQuery(q): ApiQuery<GrowthQuery>,
) -> Result<Json<Growth>> {
    let (limit, offset) = page(q.limit, q.offset, 50)?;
    let snap = svc.snapshot()?;
    let (level, state, category, class, model) = (
        text(q.level),
        text(q.state),
        text(q.category),
        text(q.class),
        text(q.model),
    );
    let eq = |a: Option<&str>, b: &Option<String>| {
        b.as_ref()
            .is_none_or(|b| a.is_some_and(|a| a.eq_ignore_ascii_case(b)))
    };
    let matching: Vec<_> = snap
        .growth
        .iter()
        .filter(|g| {
            eq(Some(&g.level), &level)
                && eq(g.state.as_deref(), &state)
                && eq(g.category.as_deref(), &category)
                && eq(Some(&g.predicted_class), &class)
                && eq(Some(&g.model), &model)
        })
        .collect();
    let items = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|g| GrowthPrediction {
            level: g.level.clone(),
            business: g.business.map(|b| business_json(&snap, b)),
            category: g.category.clone(),
            state: g.state.clone(),
            period_start: g.period_start.to_string(),
            model: g.model.clone(),
            predicted_class: g.predicted_class.clone(),
            probability: finite(g.probability),
            predicted_value: finite(g.predicted_value),
            model_version: g.model_version,
        })
        .collect();
    Ok(Json(Growth {
        snapshot_id: snap.id(),
        total: matching.len() as i64,
        limit: limit as i64,
        offset: offset as i64,
        items,
    }))
}

/// Query of `GET /v1/models`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ModelsQuery {
    /// Only this model name.
    #[param(value_type = String)]
    #[serde(default)]
    name: Option<String>,
    /// Only current (served) versions.
    #[param(value_type = bool)]
    #[serde(default)]
    current: Option<bool>,
}

/// The model registry: every trained version with its parameters and metrics, and
/// which one is served. Empty without the models zone.
#[utoipa::path(get, path = "/v1/models", tag = "models", params(ModelsQuery),
    responses(
        (status = 200, description = "Registered models", body = Models),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 503, description = "No snapshot loaded yet", body = ErrorBody)))]
async fn models(
    State(svc): State<Service>,
    ApiQuery(q): ApiQuery<ModelsQuery>,
) -> Result<Json<Models>> {
    let snap = svc.snapshot()?;
    let name = text(q.name);
    Ok(Json(Models {
        snapshot_id: snap.id(),
        models: snap
            .registry
            .iter()
            .filter(|m| name.as_ref().is_none_or(|n| &m.name == n))
            .filter(|m| q.current.is_none_or(|c| m.current == c))
            .cloned()
            .collect(),
    }))
}

/// The values the filters can take (states, categories, platforms, with business
/// counts) and a few active reviewers to try recommendations with.
#[utoipa::path(get, path = "/v1/facets", tag = "businesses",
    responses(
        (status = 200, description = "Filter values", body = Facets),
        (status = 503, description = "No snapshot loaded yet", body = ErrorBody)))]
async fn facets(State(svc): State<Service>) -> Result<Json<Facets>> {
    let snap = svc.snapshot()?;
    Ok(Json(Facets {
        snapshot_id: snap.id(),
        ..snap.facets.clone()
    }))
}
