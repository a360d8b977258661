//! How to reach a Hubble server, and the flags every command takes. Each
//! can also be set by a `HUBBLE_<FLAG>` variable or the config file, so
//! none has a default here: `crate::config` resolves them.

use std::time::Duration;

use clap::Args;

use crate::duration;

/// Hubble's "Global Flags".
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Global Flags")]
pub struct GlobalArgs {
    /// Optional config file [default: <user config dir>/hubble/config.yaml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<String>,

    /// Enable debug messages
    #[arg(short = 'D', long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub debug: Option<bool>,
}

/// Hubble's "Server Flags".
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Server Flags")]
pub struct ServerArgs {
    /// Address of a Hubble server. Ignored when --input-file or
    /// --port-forward is provided. [default: localhost:4245]
    #[arg(long, global = true, value_name = "ADDRESS")]
    pub server: Option<String>,

    /// Hubble server dialing timeout [default: 5s]
    #[arg(long, global = true, value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// Unary Request timeout. Only applies to non-streaming RPCs
    /// (ServerStatus, ListNodes, ListNamespaces). [default: 12s]
    #[arg(long, global = true, value_parser = parse_duration)]
    pub request_timeout: Option<Duration>,

    /// Specify that TLS must be used when establishing a connection to a
    /// Hubble server. By default, TLS is only enabled if the server address
    /// starts with 'tls://'.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub tls: Option<bool>,

    /// Allows the client to skip verifying the server's certificate chain
    /// and host name. This option is NOT recommended as, in this mode, TLS
    /// is susceptible to machine-in-the-middle attacks. See also the
    /// 'tls-server-name' option which allows setting the server name.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub tls_allow_insecure: Option<bool>,

    /// Paths to custom Certificate Authority (CA) certificate files. The
    /// files must contain PEM encoded data.
    #[arg(long, global = true, value_delimiter = ',', value_name = "FILES")]
    pub tls_ca_cert_files: Option<Vec<String>>,

    /// Path to the public key file for the client certificate to connect to
    /// a Hubble server (implies TLS). The file must contain PEM encoded
    /// data.
    #[arg(long, global = true, value_name = "FILE")]
    pub tls_client_cert_file: Option<String>,

    /// Path to the private key file for the client certificate to connect a
    /// Hubble server (implies TLS). The file must contain PEM encoded data.
    #[arg(long, global = true, value_name = "FILE")]
    pub tls_client_key_file: Option<String>,

    /// Specify a server name to verify the hostname on the returned
    /// certificate (eg: 'instance.hubble-relay.cilium.io').
    #[arg(long, global = true, value_name = "NAME")]
    pub tls_server_name: Option<String>,

    /// Specify a username for basic auth
    #[arg(long, global = true, value_name = "USERNAME")]
    pub basic_auth_username: Option<String>,

    /// Specify a password for basic auth
    #[arg(long, global = true, value_name = "PASSWORD")]
    pub basic_auth_password: Option<String>,

    /// Automatically forward the relay port to the local machine.
    /// Analoguous to running: 'cilium hubble port-forward'.
    #[arg(short = 'P', long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub port_forward: Option<bool>,

    /// Local port to forward to. 0 will select a random port. This option
    /// is only considered when --port-forward is set. hubl carries its own
    /// connection through the Kubernetes API without a local port; it
    /// listens on 127.0.0.1:PORT, for other programs and for as long as the
    /// command runs, only when a port other than 0 is set (by this flag,
    /// HUBBLE_PORT_FORWARD_PORT or the config file). [default: 4245]
    #[arg(long, global = true, value_name = "PORT")]
    pub port_forward_port: Option<u16>,

    /// Kubernetes configuration context. This option is only considered
    /// when --port-forward is set.
    #[arg(long, global = true, value_name = "CONTEXT")]
    pub kube_context: Option<String>,

    /// Namespace Cilium is running in. This option is only considered when
    /// --port-forward is set. [default: kube-system]
    #[arg(long, global = true, value_name = "NAMESPACE")]
    pub kube_namespace: Option<String>,

    /// Path to the kubeconfig file. This option is only considered when
    /// --port-forward is set.
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<String>,
}

/// Parses a Go-style duration (`5s`, `1m30s`, `250ms`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    duration::parse(text).ok_or_else(|| {
        format!("invalid duration {text:?}: expected a number with a unit, e.g. 5s, 1m30s, 250ms")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("5").is_err());
    }
}
