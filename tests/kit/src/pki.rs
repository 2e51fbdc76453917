//! A throw-away certificate authority (rcgen) and the server certificates it signs, as PEM
//! files: what servers load as `tls_cert`/`tls_key` and clients trust as an extra root.

use std::path::{Path, PathBuf};

use crate::{Res, ctx};

/// A test CA whose certificate is written to `{dir}/ca.pem`.
pub struct TestCa {
    /// The CA certificate (PEM file).
    pub pem: PathBuf,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    dir: PathBuf,
}

impl TestCa {
    /// Generates a CA named `common_name`, writing `ca.pem` into `dir` (which must exist).
    ///
    /// # Errors
    /// Key generation, signing or the file write failing.
    pub fn new(dir: &Path, common_name: &str) -> Res<TestCa> {
        let key = rcgen::KeyPair::generate().map_err(ctx("CA key"))?;
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(ctx("CA params"))?;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let cert = params.self_signed(&key).map_err(ctx("CA certificate"))?;
        let pem = dir.join("ca.pem");
        std::fs::write(&pem, cert.pem()).map_err(ctx("ca.pem"))?;
        Ok(TestCa {
            pem,
            issuer: rcgen::Issuer::new(params, key),
            dir: dir.to_path_buf(),
        })
    }

    /// Issues a certificate for `names` (the first is the common name), written to
    /// `{dir}/{names[0]}.pem` with its key in `{dir}/{names[0]}.key`; returns both paths.
    ///
    /// # Errors
    /// Signing or the file writes failing.
    pub fn issue(&self, names: &[String]) -> Res<(PathBuf, PathBuf)> {
        let first = names.first().ok_or("a certificate needs a name")?;
        let key = rcgen::KeyPair::generate().map_err(ctx("key"))?;
        let mut params =
            rcgen::CertificateParams::new(names.to_vec()).map_err(ctx("certificate params"))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, first.as_str());
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(ctx("certificate"))?;
        let cert_path = self.dir.join(format!("{first}.pem"));
        let key_path = self.dir.join(format!("{first}.key"));
        std::fs::write(&cert_path, cert.pem()).map_err(ctx("certificate file"))?;
        std::fs::write(&key_path, key.serialize_pem()).map_err(ctx("key file"))?;
        Ok((cert_path, key_path))
    }

    /// The CA certificate for a reqwest client's extra roots.
    ///
    /// # Errors
    /// The PEM file unreadable.
    pub fn certificate(&self) -> Res<reqwest::Certificate> {
        let pem = std::fs::read(&self.pem).map_err(ctx("ca.pem"))?;
        reqwest::Certificate::from_pem(&pem).map_err(ctx("ca.pem"))
    }
}
