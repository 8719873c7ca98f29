//! Path and query extractors whose rejections are the service's own JSON 400s, naming
//! the parameter (axum's default rejections are plain text without a name).

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Query parameters deserialised into `T`; a value that does not parse is a 400
/// naming the parameter (the query structs deny unknown fields: an unknown parameter is
/// a 400 naming it).
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                let parameter = if path.is_empty() || path == "." {
                    // Errors about the whole query name the field in backticks
                    // ("duplicate field `n`").
                    message.split('`').nth(1).unwrap_or("query").to_string()
                } else {
                    path
                };
                ApiError::bad(parameter, message)
            })
    }
}

/// Path parameters deserialised into `T` (strings: the handlers validate them); a
/// segment that is not valid UTF-8 once percent-decoded is a 400 naming it.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let message = e.body_text();
                let parameter = match e.into_kind() {
                    ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::DeserializeError { key, .. } => key,
                    _ => "path".to_string(),
                };
                Err(ApiError::bad(parameter, message))
            }
            Err(e) => Err(ApiError::bad("path", e.body_text())),
        }
    }
}
