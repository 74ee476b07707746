//! [`ServerSample`]: the server's own CPU time and memory, scraped from its Prometheus `/metrics`
//! endpoint (`process_cpu_seconds_total`, `process_resident_memory_bytes`).
//!
//! Plain HTTP/1.1 over a tokio `TcpStream` — one GET at the start and one at the end of the
//! steady window does not justify an HTTP client dependency. Missing metrics are `None`, never an
//! error: not every server exports them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest metrics response read.
const MAX_RESPONSE_BYTES: u64 = 8 << 20;

/// Why the metrics endpoint could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("unsupported metrics url {0:?} (expected http://host:port/path)")]
    Url(String),
    #[error("metrics request failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("metrics request timed out after {0:?}")]
    Timeout(Duration),
    #[error("metrics endpoint answered {0}")]
    Status(String),
    #[error("malformed HTTP response from the metrics endpoint")]
    Malformed,
}

/// One reading of the server's process metrics.
#[derive(Debug, Clone)]
pub struct ServerSample {
    /// When the response arrived.
    pub at: Instant,
    /// `process_cpu_seconds_total`.
    pub cpu_seconds: Option<f64>,
    /// `process_resident_memory_bytes`.
    pub rss_bytes: Option<f64>,
    /// Every unlabelled counter (`*_total`) other than the process ones, by name.
    pub counters: BTreeMap<String, f64>,
}

impl ServerSample {
    /// GETs `url` and reads the two process metrics from it.
    pub async fn scrape(url: &str, timeout: Duration) -> Result<ServerSample, ScrapeError> {
        let text = tokio::time::timeout(timeout, http_get(url))
            .await
            .map_err(|_| ScrapeError::Timeout(timeout))??;
        Ok(Self::parse(&text, Instant::now()))
    }

    /// Reads the process metrics from Prometheus text exposition.
    pub fn parse(text: &str, at: Instant) -> ServerSample {
        ServerSample {
            at,
            cpu_seconds: metric(text, "process_cpu_seconds_total"),
            rss_bytes: metric(text, "process_resident_memory_bytes"),
            counters: counters(text),
        }
    }

    /// How much each counter grew between `earlier` and `self`.
    pub fn counter_deltas(&self, earlier: &ServerSample) -> BTreeMap<String, f64> {
        self.counters
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v - earlier.counters.get(k)?)))
            .collect()
    }

    /// Server CPU cores used between `earlier` and `self`.
    pub fn cores_since(&self, earlier: &ServerSample) -> Option<f64> {
        let wall = self.at.saturating_duration_since(earlier.at).as_secs_f64();
        let cpu = self.cpu_seconds? - earlier.cpu_seconds?;
        (wall > 0.0).then(|| cpu.max(0.0) / wall)
    }
}

/// The value of the first sample of metric `name` (any labels) in Prometheus text format.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let rest = l.strip_prefix(name)?;
            let rest = match rest.chars().next()? {
                '{' => &rest[rest.find('}')? + 1..],
                ' ' | '\t' => rest,
                _ => return None, // a longer metric name with this prefix
            };
            rest.split_whitespace().next()?.parse().ok()
        })
}

/// Unlabelled `*_total` samples, except `process_*`.
fn counters(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("process_"))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let name = parts.next()?;
            if !name.ends_with("_total") || name.contains('{') {
                return None;
            }
            Some((name.to_string(), parts.next()?.parse().ok()?))
        })
        .collect()
}

/// The metrics URL next to a WebSocket URL: same host and port, path `/metrics`.
/// `ws://127.0.0.1:8080/ws` → `http://127.0.0.1:8080/metrics`. `None` for `wss://` (no TLS here).
pub fn metrics_url_for(ws_url: &str) -> Option<String> {
    http_url_for(ws_url, "/metrics")
}

/// The plain-HTTP URL of `path` on a `ws://` URL's host and port; `None` for `wss://`.
pub(crate) fn http_url_for(ws_url: &str, path: &str) -> Option<String> {
    let rest = ws_url.strip_prefix("ws://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("http://{authority}{path}"))
}

async fn http_get(url: &str) -> Result<String, ScrapeError> {
    http_request("GET", url).await
}

/// One bodyless HTTP/1.1 request (`GET`, or the `POST /matchmake` of [`crate::matchmake`]) and
/// its 200 answer's body.
pub(crate) async fn http_request(method: &str, url: &str) -> Result<String, ScrapeError> {
    let bad = || ScrapeError::Url(url.to_string());
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(bad());
    }
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut raw)
        .await?;
    parse_response(&raw)
}

/// Splits an HTTP/1.1 response, checks for 200 and undoes chunked transfer encoding.
fn parse_response(raw: &[u8]) -> Result<String, ScrapeError> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(ScrapeError::Malformed)?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| ScrapeError::Malformed)?;
    let body = &raw[split + 4..];
    let mut lines = head.lines();
    let status = lines.next().ok_or(ScrapeError::Malformed)?;
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(ScrapeError::Status(status.to_string()));
    }
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    String::from_utf8(body).map_err(|_| ScrapeError::Malformed)
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, ScrapeError> {
    let mut out = Vec::with_capacity(b.len());
    loop {
        let eol = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(ScrapeError::Malformed)?;
        let size_text = std::str::from_utf8(&b[..eol]).map_err(|_| ScrapeError::Malformed)?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| ScrapeError::Malformed)?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = b.get(..size).ok_or(ScrapeError::Malformed)?;
        out.extend_from_slice(chunk);
        b = b.get(size + 2..).ok_or(ScrapeError::Malformed)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "# HELP process_cpu_seconds_total CPU\n# TYPE process_cpu_seconds_total counter\n\
        process_cpu_seconds_total 12.5\nprocess_cpu_seconds_total_extra 99\n\
        process_resident_memory_bytes{pid=\"1\"} 1.048576e7\n";

    #[test]
    fn reads_process_metrics_and_tolerates_absence() {
        let s = ServerSample::parse(TEXT, Instant::now());
        assert_eq!(s.cpu_seconds, Some(12.5));
        assert_eq!(s.rss_bytes, Some(10_485_760.0));
        let none = ServerSample::parse("tickcast_rooms 3\n", Instant::now());
        assert_eq!((none.cpu_seconds, none.rss_bytes), (None, None));
        let a = ServerSample::parse("x_total 3\ny_total{a=\"b\"} 1\nz 4\n", Instant::now());
        let b = ServerSample::parse("x_total 10\n", Instant::now());
        assert_eq!(a.counters.len(), 1);
        assert_eq!(b.counter_deltas(&a).get("x_total"), Some(&7.0));
    }

    #[test]
    fn cores_between_two_samples() {
        let t = Instant::now();
        let a = ServerSample {
            at: t,
            cpu_seconds: Some(10.0),
            rss_bytes: None,
            counters: BTreeMap::new(),
        };
        let b = ServerSample {
            at: t + Duration::from_secs(4),
            cpu_seconds: Some(11.0),
            ..a.clone()
        };
        assert_eq!(b.cores_since(&a), Some(0.25));
    }

    #[test]
    fn derives_the_metrics_url() {
        assert_eq!(
            metrics_url_for("ws://127.0.0.1:8080/ws").as_deref(),
            Some("http://127.0.0.1:8080/metrics")
        );
        assert_eq!(
            metrics_url_for("ws://localhost:9/").as_deref(),
            Some("http://localhost:9/metrics")
        );
        assert_eq!(metrics_url_for("wss://x/ws"), None);
    }

    #[test]
    fn parses_plain_and_chunked_responses() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\na 1\n";
        assert_eq!(parse_response(plain).unwrap(), "a 1\n");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\na 1\r\n2\r\n2\n\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap(), "a 12\n");
        assert!(matches!(
            parse_response(b"HTTP/1.1 404 Not Found\r\n\r\n"),
            Err(ScrapeError::Status(_))
        ));
        assert!(parse_response(b"garbage").is_err());
    }

    #[tokio::test]
    async fn scrapes_a_local_endpoint() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await.unwrap();
            let body = TEXT.as_bytes();
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
            s.write_all(head.as_bytes()).await.unwrap();
            s.write_all(body).await.unwrap();
        });
        let url = metrics_url_for(&format!("ws://{addr}/ws")).unwrap();
        let s = ServerSample::scrape(&url, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(s.cpu_seconds, Some(12.5));
        server.await.unwrap();
    }
}
