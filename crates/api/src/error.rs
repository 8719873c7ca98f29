//! Errors of the service, and how each becomes an HTTP response: a status and a JSON
//! body `{"error": <kind>, "message": <text>, "parameter": <name or null>}`.
//!
//! User input never produces a 5xx: a bad parameter is a 400 naming it, an unknown id a
//! 404. A 5xx means the service itself is not ready (503 before the first snapshot is
//! loaded) or broken (500, logged).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Everything that can go wrong in the service.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A path or query parameter that cannot be used (400).
    #[error("invalid parameter `{parameter}`: {message}")]
    BadParameter {
        /// The parameter's name.
        parameter: String,
        /// What is wrong with it.
        message: String,
    },
    /// No such business, user, ... (404).
    #[error("{0}")]
    NotFound(String),
    /// No credentials for an admin endpoint (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Wrong credentials, or admin endpoints disabled (403).
    #[error("{0}")]
    Forbidden(String),
    /// No snapshot loaded yet (503).
    #[error("no snapshot loaded yet: {0}")]
    NotReady(String),
    /// The lake failed (at load or reload).
    #[error("lake: {0}")]
    Lake(#[from] reviewlake_lake::LakeError),
    /// Loading the models failed.
    #[error("models: {0}")]
    Models(#[from] reviewlake_ml::MlError),
    /// Data in the lake that the service cannot use.
    #[error("data: {0}")]
    Data(String),
    /// Binding or serving failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl ApiError {
    /// A [`ApiError::BadParameter`].
    pub fn bad(parameter: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::BadParameter {
            parameter: parameter.into(),
            message: message.into(),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadParameter { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Lake(_) | ApiError::Models(_) | ApiError::Data(_) | ApiError::Io(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::BadParameter { .. } => "bad_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotReady(_) => "not_ready",
            _ => "internal",
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// `bad_request`, `not_found`, `unauthorized`, `forbidden`, `not_ready`,
    /// `timeout`, `payload_too_large`, `headers_too_large`, `not_acceptable` or `internal`.
    pub error: String,
    /// What happened, for people.
    pub message: String,
    /// The offending parameter, for `bad_request`.
    pub parameter: Option<String>,
}

impl ErrorBody {
    /// A body without a parameter.
    pub fn new(error: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: error.to_string(),
            message: message.into(),
            parameter: None,
        }
    }
}

/// A JSON error response with `status`.
pub(crate) fn error_response(status: StatusCode, body: ErrorBody) -> Response {
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(error = %self, "internal error");
        }
        let parameter = match &self {
            ApiError::BadParameter { parameter, .. } => Some(parameter.clone()),
            _ => None,
        };
        let message = match &self {
            // Internal details stay in the log.
            e if status == StatusCode::INTERNAL_SERVER_ERROR => {
                let _ = e;
                "internal error (see the server log)".to_string()
            }
            e => e.to_string(),
        };
        error_response(
            status,
            ErrorBody {
                error: self.kind().to_string(),
                message,
                parameter,
            },
        )
    }
}

/// Result alias of this crate.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;
