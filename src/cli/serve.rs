//! `hubl serve`: the replay relay's flags.

use clap::Args;

/// `hubl serve --input-file CAPTURE [--listen ADDR] [--rate N]`.
#[derive(Debug, Args)]
#[command(
    long_about = "Serve a capture of jsonpb lines (as `hubble observe -o jsonpb` writes them) \
                  with Hubble's Observer API, as hubble-relay does: hubl, the hubble CLI and \
                  Hubble UI can observe it. Following clients get the capture replayed in a \
                  loop with fresh timestamps."
)]
pub struct ServeCommand {
    /// The capture to serve; '-' reads it from stdin.
    #[arg(long, value_name = "FILE")]
    pub input_file: String,

    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4245")]
    pub listen: String,

    /// Replay to following clients at N flows per second instead of the
    /// capture's recorded pace.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,

    /// Move the capture's timestamps so that it ends now, so that its
    /// history and the live replay share one clock (for demos and Hubble
    /// UI). Off by default: a bug report's capture keeps its times.
    #[arg(long)]
    pub shift_times: bool,

    /// Serve over TLS with this certificate (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key_file")]
    pub tls_cert_file: Option<String>,

    /// The private key of --tls-cert-file (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<String>,

    /// Require client certificates signed by these CAs (mTLS).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_cert_file",
        value_delimiter = ','
    )]
    pub tls_client_ca_files: Vec<String>,
}
