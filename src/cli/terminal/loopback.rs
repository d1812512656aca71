//! The loopback redirect of a native app (RFC 8252 §7.3): a listener on `127.0.0.1` at a
//! port the system picks, waiting for the browser to come back from Lanyard's authorization
//! endpoint with `code` and `state`, and answering it with a small plain page.
//!
//! Only what that one request needs of HTTP/1.1 is read: the request line of a `GET`
//! (RFC 9112 §3), at most [`MAX_HEAD_BYTES`] of head within [`READ_TIMEOUT`]; anything
//! else is answered 400 or 404 and the wait goes on. An answer with another `state` (some
//! other local process guessing) is refused and ignored; only the matching one ends the
//! wait, with a code or with the error Lanyard sent (RFC 6749 §4.1.2.1).
//!
//! May import: `secret`.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::secret::Secret;

/// The path of the redirect URI; the client is registered with
/// `http://127.0.0.1/callback` (any port matches, RFC 8252 §7.3).
pub const CALLBACK_PATH: &str = "/callback";
/// The most of a request head read.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long one connection may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What came back to the redirect URI.
#[derive(Debug)]
pub enum Redirected {
    /// The authorization code, with the issuer it says it is from (RFC 9207), if any.
    Code {
        /// The code.
        code: Secret,
        /// `iss`.
        issuer: Option<String>,
    },
    /// The authorization server's error (`access_denied` when no role fits, …).
    Error {
        /// `error`.
        code: String,
        /// `error_description`.
        description: Option<String>,
    },
}

/// A bound loopback listener.
#[derive(Debug)]
pub struct Loopback {
    listener: TcpListener,
    redirect_uri: String,
}

impl Loopback {
    /// Binds `127.0.0.1:0`.
    pub async fn bind() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}{CALLBACK_PATH}"),
        })
    }

    /// The redirect URI to send in the authorization request.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the browser's request carrying `state`; answers it, and every other
    /// request on the way, with a page. Connections are served side by side, so that one
    /// that sends nothing (a browser's speculative preconnect) holds up no other.
    pub async fn wait(&self, state: &str) -> std::io::Result<Redirected> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Redirected>(1);
        let state: std::sync::Arc<str> = state.into();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, _) = accepted?;
                    let (tx, state) = (tx.clone(), std::sync::Arc::clone(&state));
                    tokio::spawn(async move {
                        if let Some(done) = handle(stream, &state).await {
                            let _ = tx.send(done).await;
                        }
                    });
                }
                Some(done) = rx.recv() => return Ok(done),
            }
        }
    }
}

/// Answers one connection; `Some` when it was the awaited redirect.
async fn handle(mut stream: TcpStream, state: &str) -> Option<Redirected> {
    let target = match tokio::time::timeout(READ_TIMEOUT, request_target(&mut stream)).await {
        Ok(Ok(target)) => target,
        Ok(Err(status)) => {
            respond(&mut stream, status, "Lanyard could not read that request.").await;
            return None;
        }
        Err(_) => return None,
    };
    let Some(query) = target
        .strip_prefix(CALLBACK_PATH)
        .and_then(|rest| rest.strip_prefix('?').or(rest.is_empty().then_some("")))
    else {
        respond(&mut stream, Status::NotFound, "There is nothing here.").await;
        return None;
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let one = |name: &str| {
        let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        match (values.next(), values.next()) {
            (Some(v), None) => Some(v.clone()),
            _ => None,
        }
    };
    let state_ok = one("state").is_some_and(|s| {
        use subtle::ConstantTimeEq as _;
        bool::from(s.as_bytes().ct_eq(state.as_bytes()))
    });
    if !state_ok {
        respond(
            &mut stream,
            Status::BadRequest,
            "This answer does not belong to the sign-in your terminal is waiting for. \
             Start again from the terminal.",
        )
        .await;
        return None;
    }
    if let Some(code) = one("error") {
        let description = one("error_description");
        respond(
            &mut stream,
            Status::Ok,
            "Signing in did not succeed. Your terminal says why; you can close this tab.",
        )
        .await;
        return Some(Redirected::Error { code, description });
    }
    let Some(code) = one("code") else {
        respond(
            &mut stream,
            Status::BadRequest,
            "The answer carries no code.",
        )
        .await;
        return None;
    };
    respond(
        &mut stream,
        Status::Ok,
        "You are signed in. You can return to your terminal and close this tab.",
    )
    .await;
    Some(Redirected::Code {
        code: Secret::new(code),
        issuer: one("iss"),
    })
}

/// The status of an answer.
#[derive(Debug, Clone, Copy)]
enum Status {
    Ok,
    BadRequest,
    NotFound,
    MethodNotAllowed,
}

impl Status {
    fn line(self) -> &'static str {
        match self {
            Status::Ok => "200 OK",
            Status::BadRequest => "400 Bad Request",
            Status::NotFound => "404 Not Found",
            Status::MethodNotAllowed => "405 Method Not Allowed",
        }
    }
}

/// The request-target of a `GET`, from its request line, once the head is complete.
async fn request_target(stream: &mut TcpStream) -> Result<String, Status> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD_BYTES {
            return Err(Status::BadRequest);
        }
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|_| Status::BadRequest)?;
        if n == 0 {
            return Err(Status::BadRequest);
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or(Status::BadRequest)?;
    let line = std::str::from_utf8(&head[..line_end]).map_err(|_| Status::BadRequest)?;
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("GET"), Some(target), Some(version), None)
            if target.starts_with('/') && version.starts_with("HTTP/1.") =>
        {
            Ok(target.to_owned())
        }
        (Some(_), Some(_), Some(_), None) => Err(Status::MethodNotAllowed),
        _ => Err(Status::BadRequest),
    }
}

/// Writes a small page saying `message` and closes the connection.
async fn respond(stream: &mut TcpStream, status: Status, message: &str) {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>Lanyard</title>\n</head>\n<body>\n<main>\n<h1>Lanyard</h1>\n<p>{message}</p>\n\
         </main>\n</body>\n</html>\n"
    );
    let head = format!(
        "HTTP/1.1 {}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Content-Security-Policy: default-src 'none'\r\nReferrer-Policy: no-referrer\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        status.line(),
        body.len()
    );
    // The browser may have gone; the terminal's side goes on regardless.
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(port: u16, raw: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(raw.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn only_the_matching_state_ends_the_wait() {
        let lb = Loopback::bind().await.unwrap();
        let port: u16 = lb
            .redirect_uri()
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches(CALLBACK_PATH)
            .parse()
            .unwrap();
        let waiting = tokio::spawn(async move { lb.wait("good-state").await });
        let other = get(port, "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(other.starts_with("HTTP/1.1 404"), "{other}");
        let post = get(port, "POST /callback HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(post.starts_with("HTTP/1.1 405"), "{post}");
        let wrong = get(port, "GET /callback?code=c&state=bad HTTP/1.1\r\n\r\n").await;
        assert!(wrong.starts_with("HTTP/1.1 400"), "{wrong}");
        let twice = get(
            port,
            "GET /callback?code=c&state=good-state&state=good-state HTTP/1.1\r\n\r\n",
        )
        .await;
        assert!(twice.starts_with("HTTP/1.1 400"), "{twice}");
        let ok = get(
            port,
            "GET /callback?code=the-code&state=good-state&iss=http%3A%2F%2Fl HTTP/1.1\r\n\r\n",
        )
        .await;
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        assert!(ok.contains("return to your terminal"), "{ok}");
        assert!(ok.contains("Content-Security-Policy: default-src 'none'"));
        match waiting.await.unwrap().unwrap() {
            Redirected::Code { code, issuer } => {
                assert_eq!(code.expose_secret(), "the-code");
                assert_eq!(issuer.as_deref(), Some("http://l"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn an_error_with_the_state_ends_the_wait() {
        let lb = Loopback::bind().await.unwrap();
        let port: u16 = lb
            .redirect_uri()
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches(CALLBACK_PATH)
            .parse()
            .unwrap();
        let waiting = tokio::spawn(async move { lb.wait("s").await });
        let page = get(
            port,
            "GET /callback?error=access_denied&error_description=no+role&state=s HTTP/1.1\r\n\r\n",
        )
        .await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        match waiting.await.unwrap().unwrap() {
            Redirected::Error { code, description } => {
                assert_eq!(code, "access_denied");
                assert_eq!(description.as_deref(), Some("no role"));
            }
            other => panic!("{other:?}"),
        }
    }
}
