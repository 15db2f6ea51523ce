//! Reading a server's certificate for `plenum doctor`: the names it covers, its expiry,
//! whether it is self-signed, and whether its chain is valid against the webpki roots.
//! The handshake uses a verifier that records the chain instead of judging it, so a bad
//! certificate is reported rather than ending the check.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::{Check, Kind};

/// Days before expiry from which the certificate is a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// What the leaf certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// DNS names (lower case) and IP addresses of the subject alternative names; the
    /// common name when there are none.
    pub names: Vec<String>,
    /// The end of validity, seconds since the Unix epoch.
    pub not_after: i64,
    /// Subject and issuer are the same name.
    pub self_signed: bool,
}

/// Reads the leaf certificate.
pub fn parse(der: &[u8]) -> Result<CertInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|error| format!("the certificate cannot be parsed: {error}"))?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => {
                    names.push(dns.to_ascii_lowercase());
                }
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*bytes).ok().map(IpAddr::from),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        names.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    if names.is_empty() {
        names.extend(
            cert.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok())
                .map(str::to_ascii_lowercase),
        );
    }
    Ok(CertInfo {
        names,
        not_after: cert.validity().not_after.timestamp(),
        self_signed: cert.subject() == cert.issuer(),
    })
}

/// Whether `names` cover `host`: an exact name, an IP address written the same way, or a
/// wildcard `*.example.com` standing for exactly one label.
pub fn covers(names: &[String], host: &str) -> bool {
    let host = host
        .trim_end_matches('.')
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if let Ok(ip) = host.parse::<IpAddr>() {
        return names
            .iter()
            .any(|n| n.parse::<IpAddr>().is_ok_and(|n| n == ip));
    }
    names.iter().any(|name| {
        let name = name.trim_end_matches('.');
        match name.strip_prefix("*.") {
            Some(suffix) => host
                .split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
            None => name == host,
        }
    })
}

/// Whether the chain leads to a trusted root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Valid against the webpki (Mozilla) roots.
    Trusted,
    /// Self-signed: no root vouches for it.
    SelfSigned,
    /// Not valid for another reason.
    Untrusted(String),
}

/// Checks the chain against the webpki roots at `now`; the name is checked separately
/// by [`covers`].
pub fn trust(
    provider: &Arc<CryptoProvider>,
    chain: &[CertificateDer<'static>],
    server_name: &ServerName<'_>,
    self_signed: bool,
    now: UnixTime,
) -> Trust {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Trust::Untrusted("the server sent no certificate".to_owned());
    };
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let verifier = match WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    {
        Ok(verifier) => verifier,
        Err(error) => return Trust::Untrusted(format!("cannot build the verifier: {error}")),
    };
    match verifier.verify_server_cert(leaf, intermediates, server_name, &[], now) {
        Ok(_) => Trust::Trusted,
        // webpki checks the chain before the name: a name error means the chain is good.
        Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
        | Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForNameContext { .. },
        )) => Trust::Trusted,
        Err(_) if self_signed => Trust::SelfSigned,
        Err(error) => Trust::Untrusted(error.to_string()),
    }
}

/// The certificate checks for an endpoint: names cover `host` (and `domain`, a warning),
/// expiry at `now` (seconds since the epoch), and trust. A self-signed certificate is a
/// warning when `host` is loopback (the first-run node) and a failure elsewhere.
pub fn checks(
    info: &CertInfo,
    trust: &Trust,
    host: &str,
    domain: Option<&str>,
    now: i64,
) -> Vec<Check> {
    let mut out = Vec::new();
    let names = info.names.join(", ");
    let name = format!("certificate names for {host}");
    if covers(&info.names, host) {
        out.push(Check::pass(
            Kind::Tls,
            name,
            format!("cover {host} ({names})"),
        ));
    } else {
        out.push(Check::fail(
            Kind::Tls,
            name,
            format!("do not cover {host} (the certificate is for {names})"),
            format!(
                "use a certificate whose names include {host} ([tls] certificate in plenum.toml)"
            ),
        ));
    }
    if let Some(domain) = domain.filter(|d| *d != host) {
        let name = format!("certificate names for {domain}");
        if covers(&info.names, domain) {
            out.push(Check::pass(Kind::Tls, name, format!("cover {domain}")));
        } else {
            out.push(Check::warn(
                Kind::Tls,
                name,
                format!("do not cover {domain} (the certificate is for {names})"),
                format!(
                    "clients that check the domain's name want {domain} in the certificate too"
                ),
            ));
        }
    }
    let days = (info.not_after - now).div_euclid(86_400);
    let name = "certificate expiry";
    if info.not_after <= now {
        out.push(Check::fail(
            Kind::Tls,
            name,
            format!("expired {} day(s) ago", (now - info.not_after).div_euclid(86_400)),
            "renew the certificate (or delete the self-signed one in the data dir and restart to get a new one)",
        ));
    } else if days < EXPIRY_WARNING_DAYS {
        out.push(Check::warn(
            Kind::Tls,
            name,
            format!("expires in {days} day(s)"),
            "renew the certificate soon",
        ));
    } else {
        out.push(Check::pass(Kind::Tls, name, format!("{days} days left")));
    }
    let loopback = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
        || host.eq_ignore_ascii_case("localhost");
    let name = "certificate chain";
    let self_signed_detail =
        "self-signed — browsers and clients will warn; use a certificate from a CA";
    let self_signed_fix = "set [tls] certificate and private_key in plenum.toml to a certificate from a CA (e.g. Let's Encrypt)";
    match trust {
        Trust::Trusted => out.push(Check::pass(
            Kind::Tls,
            name,
            "valid against the public (webpki) roots",
        )),
        Trust::SelfSigned if loopback => out.push(Check::warn(
            Kind::Tls,
            name,
            format!("{self_signed_detail} (fine for a first run on this machine)"),
            self_signed_fix,
        )),
        Trust::SelfSigned => out.push(Check::fail(
            Kind::Tls,
            name,
            self_signed_detail,
            self_signed_fix,
        )),
        Trust::Untrusted(why) => out.push(Check::fail(
            Kind::Tls,
            name,
            format!("not trusted: {why}"),
            "install the full chain (leaf then intermediates) from your CA in the [tls] certificate file",
        )),
    }
    out
}

/// A certificate verifier that accepts any chain and records it, so the doctor can
/// report on a certificate a client would refuse. Signatures are still verified.
#[derive(Debug)]
pub struct RecordingVerifier {
    provider: Arc<CryptoProvider>,
    chain: Mutex<Vec<CertificateDer<'static>>>,
}

impl RecordingVerifier {
    /// A verifier using `provider`'s signature algorithms.
    pub fn new(provider: Arc<CryptoProvider>) -> RecordingVerifier {
        RecordingVerifier {
            provider,
            chain: Mutex::new(Vec::new()),
        }
    }

    /// The chain the server sent (leaf first); empty before the handshake.
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.chain
            .lock()
            .expect("the chain lock is never held across a panic")
            .clone()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self
            .chain
            .lock()
            .expect("the chain lock is never held across a panic") = chain;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
