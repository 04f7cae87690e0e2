//! A minimal HTTP/1.1 client: one keep-alive connection, reopened when the server
//! closes it. Each load worker owns one, so "32 connections" means 32 sockets.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where the server is: `http://host:port` (plain HTTP only).
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: Arc<str>,
}

impl Target {
    pub fn parse(base_url: &str) -> Result<Self, String> {
        let rest = base_url.strip_prefix("http://").ok_or_else(|| format!("{base_url}: only http:// is supported"))?;
        let host = rest.split('/').next().unwrap_or_default();
        let addr = host
            .to_socket_addrs()
            .map_err(|e| format!("{host}: {e}"))?
            .next()
            .ok_or_else(|| format!("{host}: no address"))?;
        Ok(Self { addr, host: host.into() })
    }
}

/// One request to send: built per request by a scenario.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    pub path: String,
    /// The whole `Authorization` header value.
    pub auth: Option<Arc<str>>,
    pub content_type: Option<&'static str>,
    pub body: Bytes,
}

impl Req {
    pub fn get(path: String, auth: Option<Arc<str>>) -> Self {
        Self { method: Method::GET, path, auth, content_type: None, body: Bytes::new() }
    }

    pub fn post_json(path: String, auth: Option<Arc<str>>, body: &serde_json::Value) -> Self {
        Self {
            method: Method::POST,
            path,
            auth,
            content_type: Some("application/json"),
            body: Bytes::from(body.to_string()),
        }
    }

    pub fn post_form(path: String, auth: Option<Arc<str>>, form: &[(&str, &str)]) -> Self {
        let encoded: Vec<String> = form.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect();
        Self {
            method: Method::POST,
            path,
            auth,
            content_type: Some("application/x-www-form-urlencoded"),
            body: Bytes::from(encoded.join("&")),
        }
    }

    pub fn put_json(path: String, auth: Option<Arc<str>>, body: &serde_json::Value) -> Self {
        Self { method: Method::PUT, ..Self::post_json(path, auth, body) }
    }
}

/// `application/x-www-form-urlencoded` and query-string encoding of one value.
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The answer: status and whole body.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One keep-alive connection to the target.
pub struct Conn {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    pub fn new(target: Target) -> Self {
        Self { target, sender: None }
    }

    async fn open(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let stream = TcpStream::connect(self.target.addr).await.map_err(|e| format!("connect: {e}"))?;
        stream.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(connection);
        Ok(sender)
    }

    /// Sends `req`; a transport failure is an `Err` (the load generator counts it as an error).
    pub async fn send(&mut self, req: &Req) -> Result<Answer, String> {
        let mut sender = match self.sender.take() {
            Some(mut sender) => match sender.ready().await {
                Ok(()) => sender,
                Err(_) => self.open().await?,
            },
            None => self.open().await?,
        };
        let mut builder = Request::builder().method(req.method.clone()).uri(&req.path).header(HOST, &*self.target.host);
        if let Some(auth) = &req.auth {
            builder = builder.header(AUTHORIZATION, &**auth);
        }
        if let Some(content_type) = req.content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        let request = builder.body(Full::new(req.body.clone())).map_err(|e| format!("request: {e}"))?;
        let response = sender.send_request(request).await.map_err(|e| format!("send: {e}"))?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map_err(|e| format!("body: {e}"))?.to_bytes();
        self.sender = Some(sender);
        Ok(Answer { status, body })
    }
}

/// A bearer `Authorization` value.
pub fn bearer(token: &str) -> Arc<str> {
    format!("Bearer {token}").into()
}
