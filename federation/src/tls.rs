//! TLS of Hearth's servers: the extra trust roots of outbound HTTPS ([`load_roots`]) and,
//! with the `server` feature, the listener side (rustls with aws-lc-rs): [`server_config`]
//! from PEM files and [`TlsListener`], used by the homeserver's federation listener and the
//! registrar.
//!
//! [`TlsListener`] accepts TCP connections and runs TLS handshakes concurrently in separate
//! tasks (each bounded by a 10 s timeout), handing finished streams to `axum::serve`, so a
//! slow or stalled handshake never blocks other clients.

#[cfg(feature = "server")]
pub use listener::{TlsListener, server_config};

/// Loads every certificate of the PEM files `paths` as extra trust roots for outbound TLS.
///
/// # Errors
/// A description naming the file that is unreadable or holds no certificate.
pub fn load_roots(paths: &[std::path::PathBuf]) -> Result<Vec<reqwest::Certificate>, String> {
    let mut out = Vec::new();
    for p in paths {
        let pem = std::fs::read(p)
            .map_err(|e| format!("federation.extra_ca_certs {}: {e}", p.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("federation.extra_ca_certs {}: {e}", p.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "federation.extra_ca_certs {}: no certificate found",
                p.display()
            ));
        }
        out.extend(certs);
    }
    Ok(out)
}

#[cfg(feature = "server")]
mod listener {
    use std::net::SocketAddr;
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::server::TlsStream;

    /// Loads a PEM certificate chain and private key into a rustls server configuration (HTTP/1.1
    /// only over ALPN).
    ///
    /// # Errors
    /// A description naming the file when a file is unreadable or holds no certificate/key, or
    /// the key does not match.
    pub fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, String> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(|e| format!("federation.tls_cert {}: {e}", cert.display()))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("federation.tls_cert {}: {e}", cert.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "federation.tls_cert {}: no certificate found",
                cert.display()
            ));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| format!("federation.tls_key {}: {e}", key.display()))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| format!("federation.tls_cert/tls_key: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    /// A TLS listener for `axum::serve` (see the module docs).
    pub struct TlsListener {
        rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
        local: SocketAddr,
        task: tokio::task::JoinHandle<()>,
    }

    impl TlsListener {
        /// Starts accepting on `listener` with `config`.
        pub fn new(listener: TcpListener, config: rustls::ServerConfig) -> std::io::Result<Self> {
            let local = listener.local_addr()?;
            let acceptor = TlsAcceptor::from(Arc::new(config));
            let (tx, rx) = mpsc::channel(64);
            let task = tokio::spawn(async move {
                loop {
                    let (tcp, peer) = match listener.accept().await {
                        Ok(x) => x,
                        Err(e) => {
                            tracing::debug!(error = %e, "federation accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    if tx.is_closed() {
                        return;
                    }
                    let acceptor = acceptor.clone();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp))
                            .await
                        {
                            Ok(Ok(tls)) => {
                                let _ = tx.send((tls, peer)).await;
                            }
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed")
                            }
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        }
                    });
                }
            });
            Ok(TlsListener { rx, local, task })
        }
    }

    impl Drop for TlsListener {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl axum::serve::Listener for TlsListener {
        type Io = TlsStream<TcpStream>;
        type Addr = SocketAddr;

        async fn accept(&mut self) -> (Self::Io, Self::Addr) {
            match self.rx.recv().await {
                Some(x) => x,
                // The accept task only ends when the listener is dropped.
                None => std::future::pending().await,
            }
        }

        fn local_addr(&self) -> std::io::Result<Self::Addr> {
            Ok(self.local)
        }
    }
}
