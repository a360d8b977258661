//! `hubl version`, in the shape of `hubble version`.

use super::Outcome;

pub fn run() -> anyhow::Result<Outcome> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    println!(
        "hubl {} compiled with Rust on {}/{arch}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
    );
    Ok(Outcome::Success)
}
