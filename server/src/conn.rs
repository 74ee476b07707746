//! Per-connection socket tuning and a handle to the connection's socket.
//!
//! Called from `HttpServer::on_connect` for every accepted TCP connection (plain, or the TCP
//! stream under a rustls `TlsStream`):
//! - a small `SO_SNDBUF`, so a client that stops reading fills the kernel's buffer within about a
//!   second instead of after megabytes (Linux auto-tunes it up to ~4 MiB otherwise; measured:
//!   ~128 s of stale snapshots before the session froze);
//! - `TCP_NODELAY`, since every frame is latency-sensitive;
//! - the socket's descriptor number in a [`ConnFd`], through which the session asks the kernel
//!   how many bytes are still unsent before writing a snapshot, and — only for a client that
//!   stops reading — makes a [`ConnHandle`] (a duplicate descriptor) so the room can shut the
//!   connection down even after the session actor has frozen. Healthy clients cost one
//!   descriptor, not two. A client that closes first gets its read half shut down
//!   ([`ConnFd::shutdown_read`]), so actix ends the connection right after echoing the close.

use std::any::Any;
use std::net::Shutdown;

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;
use socket2::{SockRef, Socket};

/// The connection's socket descriptor number, as seen in `on_connect`.
///
/// It is valid only while actix serves the connection. The session actor runs inside the
/// connection's response body, polled by the very dispatcher that owns the socket, so inside the
/// session's handlers the descriptor is open and is this connection's. Never use it elsewhere
/// (another thread, `stopped`, a room): make a [`ConnHandle`] for that.
#[derive(Debug, Clone, Copy)]
pub struct ConnFd(std::os::fd::RawFd);

impl ConnFd {
    /// Bytes queued in the kernel that TCP has not even sent yet (`SIOCOUTQNSD`), or `None` where
    /// the platform cannot tell. Unlike `SIOCOUTQ` this excludes bytes in flight awaiting an ack,
    /// so a healthy client on a long link reads ~0; it grows only when the peer's receive window
    /// is closed — the client is not reading. Call only from the session's handlers.
    pub fn unsent_bytes(self) -> Option<usize> {
        #[cfg(target_os = "linux")]
        {
            /// `SIOCOUTQNSD` from `linux/sockios.h` (not exported by libc).
            const SIOCOUTQNSD: libc::c_ulong = 0x894B;
            let mut n: libc::c_int = 0;
            // SAFETY: SIOCOUTQNSD writes one c_int through the pointer. The descriptor is open
            // (see the type's docs); on any other descriptor the ioctl fails harmlessly.
            let r = unsafe { libc::ioctl(self.0, SIOCOUTQNSD as _, &mut n) };
            (r == 0 && n >= 0).then_some(n as usize)
        }
        #[cfg(not(target_os = "linux"))]
        {
            None
        }
    }

    /// Shuts the connection's read half down: actix's dispatcher then reads EOF, writes what is
    /// queued for the client and closes the socket. For a client that closed first and waits for
    /// the server to close TCP (RFC 6455 §7.1.1): without it, actix keeps reading a connection
    /// nobody serves until the client gives up. Call only from the session's handlers.
    pub fn shutdown_read(self) {
        let _ = SockRef::from(&self.borrowed()).shutdown(Shutdown::Read);
    }

    /// The descriptor, borrowed for one call from the session's handlers.
    fn borrowed(&self) -> std::os::fd::BorrowedFd<'_> {
        // SAFETY: inside the session's handlers the descriptor is open (see the type's docs),
        // and every caller uses the borrow only within that handler's call.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(self.0) }
    }

    /// Duplicates the descriptor into an owned [`ConnHandle`]. Call only from the session's
    /// handlers, while the connection is served.
    pub fn duplicate(self) -> std::io::Result<ConnHandle> {
        Ok(ConnHandle {
            socket: Socket::from(self.borrowed().try_clone_to_owned()?),
        })
    }
}

/// An owned duplicate of one connection's socket descriptor, made only for a client that stopped
/// reading. Held by its seat; the TCP connection closes only once every descriptor is closed,
/// which happens when the seat is dropped after the session leaves its room.
#[derive(Debug)]
pub struct ConnHandle {
    socket: Socket,
}

impl ConnHandle {
    /// Shuts both directions of the connection down: reads return EOF and writes fail, which
    /// wakes actix's dispatcher even when it is blocked on a full socket.
    pub fn shutdown(&self) {
        let _ = self.socket.shutdown(Shutdown::Both);
    }
}

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit and returns the new soft limit.
/// Each client holds a descriptor (two while it is stalled), so the usual soft limit of 1024 would
/// cap a server at ~1000 clients.
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit read and write one rlimit struct we own.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if lim.rlim_cur < lim.rlim_max {
                lim.rlim_cur = lim.rlim_max;
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
        }
        Ok(lim.rlim_cur)
    }
    #[cfg(not(unix))]
    {
        Ok(u64::MAX)
    }
}

/// Socket options applied to each accepted connection.
#[derive(Debug, Clone, Copy)]
pub struct SocketTuning {
    /// `SO_SNDBUF` in bytes (the kernel doubles it for bookkeeping); 0 leaves the default.
    pub send_buffer: usize,
}

impl SocketTuning {
    /// The `on_connect` callback: tune the socket and stash its [`ConnFd`] in the connection's
    /// extensions, where the WebSocket route picks it up.
    pub fn on_connect(&self, conn: &dyn Any, ext: &mut Extensions) {
        let tcp = if let Some(tcp) = conn.downcast_ref::<TcpStream>() {
            tcp
        } else if let Some(tls) = conn.downcast_ref::<TlsStream<TcpStream>>() {
            // TLS: tune the TCP socket underneath (backpressure works on its bytes the same way).
            tls.get_ref().0
        } else {
            return;
        };
        let _ = tcp.set_nodelay(true);
        let sock = SockRef::from(tcp);
        if self.send_buffer > 0 {
            if let Err(e) = sock.set_send_buffer_size(self.send_buffer) {
                tracing::warn!(error = %e, "could not set SO_SNDBUF");
            }
        }
        use std::os::fd::AsRawFd;
        ext.insert(ConnFd(tcp.as_raw_fd()));
    }
}
