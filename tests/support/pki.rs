//! Certificates for TLS tests, generated per test with rcgen.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

/// A certificate authority and the certificates it signed, in PEM.
pub struct Pki {
    pub ca: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
}

/// The name the server's certificate holds.
pub const SERVER_NAME: &str = "relay.hubble.test";

impl Pki {
    /// A fresh CA with a server certificate for `relay.hubble.test` and
    /// 127.0.0.1, and a client certificate.
    pub fn generate() -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "hubl test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("a key"))
            .expect("a CA");
        let server_key = KeyPair::generate().expect("a key");
        let server_cert =
            CertificateParams::new(vec![SERVER_NAME.to_owned(), "127.0.0.1".to_owned()])
                .expect("server params")
                .signed_by(&server_key, &ca)
                .expect("a server certificate");
        let client_key = KeyPair::generate().expect("a key");
        let client_cert = CertificateParams::new(vec!["hubl-client".to_owned()])
            .expect("client params")
            .signed_by(&client_key, &ca)
            .expect("a client certificate");
        Self {
            ca: ca.pem(),
            server_cert: server_cert.pem(),
            server_key: server_key.serialize_pem(),
            client_cert: client_cert.pem(),
            client_key: client_key.serialize_pem(),
        }
    }
}
