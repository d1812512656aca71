//! A console form that carries a file: posted as `multipart/form-data` (RFC 7578) by the
//! page that has the file input, or url-encoded like every other console form (the same
//! fields without the file). Its text fields go through the form type's own
//! `Deserialize`, which refuses fields the page does not send and a field sent twice; at
//! most one file is taken, in the one field the form names, up to the form's limit.
//!
//! The whole body is bounded by the route's `DefaultBodyLimit`. A file over the form's
//! own limit is read on to the end of the body and dropped, so that the browser, still
//! sending, gets the page that says so rather than a reset connection; either way the
//! answer is the console's page naming the limit, never the framework's 413 text.
//!
//! May import: `web`.

use axum::extract::multipart::{Multipart, MultipartError};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::de::value::{Error as ValueError, MapDeserializer};

use super::{Console, Posted};
use crate::web::error::{PageError, WebError};
use crate::web::extract::PageForm;
use crate::web::i18n::Msg;

/// The longest file name kept (to say which file a problem is about), in characters.
const FILE_NAME_CHARS: usize = 128;

/// A form type that takes one file.
pub trait WithFile: DeserializeOwned {
    /// The name of the file field.
    const FILE: &'static str;
    /// The largest file it takes, in bytes.
    const FILE_LIMIT: usize;
}

/// A file as uploaded.
pub struct Upload {
    /// The file's name as the browser sent it: its last path segment, printable, at most
    /// [`FILE_NAME_CHARS`] characters.
    pub name: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// A posted form of a [`WithFile`] type and its file, when one was chosen.
pub struct FormWithFile<T> {
    /// The text fields.
    pub form: T,
    /// The file, if the form was multipart and one was chosen.
    pub file: Option<Upload>,
}

/// Why a form with a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The file is larger than the form takes, or the body larger than the route does.
    #[error("the form or its file is too large (a file may be at most {file_limit} bytes)")]
    TooLarge {
        /// The form's file limit, in bytes.
        file_limit: usize,
    },
    /// A multipart body that cannot be read: malformed, a field the page does not send, a
    /// field sent twice, a second file, a file in a text field, text that is not UTF-8.
    #[error("the multipart form cannot be read: {0}")]
    Unreadable(String),
    /// The url-encoded form's rejection.
    #[error("{0}")]
    Form(WebError),
}

/// The generic error pages, for a handler that does not map the rejection itself (the
/// console's do, with its own pages: [`Console::uploaded`]).
impl IntoResponse for UploadError {
    fn into_response(self) -> Response {
        PageError(match self {
            UploadError::TooLarge { .. } => WebError::PayloadTooLarge,
            UploadError::Unreadable(_) => WebError::BadRequest(Msg::new("error-form-unreadable")),
            UploadError::Form(e) => e,
        })
        .into_response()
    }
}

impl<S, T> FromRequest<S> for FormWithFile<T>
where
    S: Send + Sync,
    T: WithFile,
{
    type Rejection = UploadError;

    async fn from_request(req: Request, state: &S) -> Result<Self, UploadError> {
        if !is_multipart(req.headers()) {
            return match PageForm::<T>::from_request(req, state).await {
                Ok(PageForm(form)) => Ok(FormWithFile { form, file: None }),
                Err(e) => Err(match e.0 {
                    WebError::PayloadTooLarge => UploadError::TooLarge {
                        file_limit: T::FILE_LIMIT,
                    },
                    other => UploadError::Form(other),
                }),
            };
        }
        let multipart = Multipart::from_request(req, state)
            .await
            .map_err(|e| UploadError::Unreadable(e.body_text()))?;
        read(multipart).await
    }
}

/// Whether the body is `multipart/form-data`.
fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// Reads every part of `multipart`: the text fields into `T`, the file aside.
async fn read<T: WithFile>(mut multipart: Multipart) -> Result<FormWithFile<T>, UploadError> {
    let unreadable = |why: String| UploadError::Unreadable(why);
    let mut fields = Vec::new();
    let mut file = None;
    let mut file_seen = false;
    let mut too_large = false;
    while let Some(mut field) = multipart.next_field().await.map_err(rejected::<T>)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(shown_name);
        if name != T::FILE {
            if file_name.is_some() {
                return Err(unreadable(format!("a file in the text field {name:?}")));
            }
            let bytes = field.bytes().await.map_err(rejected::<T>)?;
            let text = String::from_utf8(bytes.to_vec())
                .map_err(|_| unreadable(format!("the field {name:?} is not UTF-8")))?;
            fields.push((name, text));
            continue;
        }
        if file_seen {
            return Err(unreadable(format!("more than one {name:?}")));
        }
        file_seen = true;
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(rejected::<T>)? {
            // Over the limit: read on to the end, keeping nothing.
            too_large = too_large || bytes.len() + chunk.len() > T::FILE_LIMIT;
            if too_large {
                bytes = Vec::new();
            } else {
                bytes.extend_from_slice(&chunk);
            }
        }
        // A browser sends the field with no name and no content when no file was chosen.
        let name = file_name.unwrap_or_default();
        if !name.is_empty() || !bytes.is_empty() {
            file = Some(Upload { name, bytes });
        }
    }
    if too_large {
        return Err(UploadError::TooLarge {
            file_limit: T::FILE_LIMIT,
        });
    }
    let form = T::deserialize(MapDeserializer::<_, ValueError>::new(fields.into_iter()))
        .map_err(|e| unreadable(e.to_string()))?;
    Ok(FormWithFile { form, file })
}

/// The error of a part that could not be read: too large when the body passed the
/// route's limit, else unreadable.
fn rejected<T: WithFile>(e: MultipartError) -> UploadError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        UploadError::TooLarge {
            file_limit: T::FILE_LIMIT,
        }
    } else {
        UploadError::Unreadable(e.body_text())
    }
}

/// A file name as kept: its last path segment (some browsers send a path), printable, at
/// most [`FILE_NAME_CHARS`] characters.
fn shown_name(sent: &str) -> String {
    let last = sent.rsplit(['/', '\\']).next().unwrap_or_default();
    last.chars()
        .filter(|c| !c.is_control())
        .take(FILE_NAME_CHARS)
        .collect()
}

impl Console {
    /// A posted form with its file, read and its token checked; else the page saying why
    /// not: too large (413, naming the limit), unreadable (400), or not from this
    /// session's page (the CSRF page).
    // The error is the page answered, as every console step's is.
    #[allow(clippy::result_large_err)]
    pub fn uploaded<T: WithFile + Posted>(
        &self,
        form: Result<FormWithFile<T>, UploadError>,
    ) -> Result<(T, Option<Upload>), Response> {
        let FormWithFile { form, file } = form.map_err(|e| self.upload_error(e))?;
        Ok((self.checked(form)?, file))
    }

    fn upload_error(&self, e: UploadError) -> Response {
        let detail = e.to_string();
        match e {
            UploadError::TooLarge { file_limit } => self.problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                Msg::new("admin-upload-too-large").arg("kib", file_limit / 1024),
                &detail,
            ),
            UploadError::Unreadable(_) => self.problem(
                StatusCode::BAD_REQUEST,
                Msg::new("admin-upload-unreadable"),
                &detail,
            ),
            UploadError::Form(e) => self.web_error(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_is_its_last_segment_printable_and_short() {
        assert_eq!(shown_name("C:\\Users\\me\\idp.xml"), "idp.xml");
        assert_eq!(shown_name("/tmp/a\u{7}b.xml"), "ab.xml");
        assert_eq!(shown_name(&"x".repeat(500)).len(), FILE_NAME_CHARS);
    }

    #[test]
    fn only_multipart_form_data_is_read_as_multipart() {
        let with = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_multipart(&h)
        };
        assert!(with("multipart/form-data; boundary=x"));
        assert!(with("Multipart/Form-Data ;boundary=x"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("multipart/mixed; boundary=x"));
        assert!(!is_multipart(&HeaderMap::new()));
    }
}
