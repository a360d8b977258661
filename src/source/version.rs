//! The version headers of Hubble's gRPC API. A relay sends
//! `hubble-relay-version` and an agent's Hubble server
//! `hubble-server-version` with every response; the latest Hubble CLI warns
//! when either is a newer minor version than its own, as the API may have
//! grown what it cannot read (hubble/cmd/common/conn/version.go).

use std::sync::atomic::{AtomicBool, Ordering};

use tonic::metadata::MetadataMap;

/// The Hubble release whose API hubl is built with: what `hubl serve`
/// announces, and what servers are compared with.
pub const HUBBLE_API_VERSION: &str = "1.19.4";

/// The header a relay sends its version in.
pub const RELAY_VERSION_HEADER: &str = "hubble-relay-version";

/// The header an agent's Hubble server sends its version in.
pub const SERVER_VERSION_HEADER: &str = "hubble-server-version";

/// Hubble warns on every call; a command of hubl makes several (a health
/// check, then the request), so each warning is given once per process.
static RELAY_WARNED: AtomicBool = AtomicBool::new(false);
static SERVER_WARNED: AtomicBool = AtomicBool::new(false);

/// `tonic::Response::into_inner`, after a look at the version headers.
pub trait IntoInnerChecked<T> {
    fn into_inner_checked(self) -> T;
}

impl<T> IntoInnerChecked<T> for tonic::Response<T> {
    fn into_inner_checked(self) -> T {
        warn_if_newer(self.metadata());
        self.into_inner()
    }
}

/// Prints Hubble's warning (once for each header) when the server's minor
/// version is newer than `HUBBLE_API_VERSION`.
pub fn warn_if_newer(headers: &MetadataMap) {
    for (header, what, warned) in [
        (RELAY_VERSION_HEADER, "Relay", &RELAY_WARNED),
        (SERVER_VERSION_HEADER, "Server", &SERVER_WARNED),
    ] {
        let Some(version) = headers.get(header).and_then(|v| v.to_str().ok()) else {
            continue;
        };
        if let Some(warning) = mismatch(version, what, header)
            && !warned.swap(true, Ordering::Relaxed)
        {
            eprintln!("Warning: {warning}");
        }
    }
}

/// Hubble's warning about `version` sent in `header`, if it is a newer
/// minor version than ours.
fn mismatch(version: &str, what: &str, header: &str) -> Option<String> {
    let theirs = Semver::parse_tolerant(version)?;
    let ours = Semver::parse_tolerant(HUBBLE_API_VERSION)?;
    ((ours.major, ours.minor) < (theirs.major, theirs.minor)).then(|| {
        format!(
            "Hubble CLI version is lower than Hubble {what}, API compatibility is not \
             guaranteed, updating to a matching or higher version is recommended \
             hubble-cli-version={ours} {header}={theirs}"
        )
    })
}

/// A semantic version, read as Go's `semver.ParseTolerant` reads it.
#[derive(Debug, PartialEq, Eq)]
struct Semver {
    major: u64,
    minor: u64,
    patch: u64,
    /// `-rc.1+build`, kept for display.
    rest: String,
}

impl Semver {
    /// Leading `v` and spaces dropped, missing minor or patch taken as 0;
    /// `None` (as Go's zero version, never warned about) when it is no
    /// version.
    fn parse_tolerant(text: &str) -> Option<Self> {
        let text = text.trim();
        let text = text.strip_prefix('v').unwrap_or(text);
        let split = text.find(['-', '+']).unwrap_or(text.len());
        let (numbers, rest) = text.split_at(split);
        let mut parts = numbers.split('.');
        let mut next = |required: bool| match parts.next() {
            Some(part) => part.parse::<u64>().ok(),
            None if !required => Some(0),
            None => None,
        };
        let version = Self {
            major: next(true)?,
            minor: next(false)?,
            patch: next(false)?,
            rest: rest.to_owned(),
        };
        if parts.next().is_some() || (version.major, version.minor, version.patch) == (0, 0, 0) {
            return None;
        }
        Some(version)
    }
}

impl std::fmt::Display for Semver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}.{}{}",
            self.major, self.minor, self.patch, self.rest
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_tolerantly() {
        let version = |text| Semver::parse_tolerant(text).map(|v| v.to_string());
        assert_eq!(version("1.19.4").as_deref(), Some("1.19.4"));
        assert_eq!(version(" v1.20 ").as_deref(), Some("1.20.0"));
        assert_eq!(
            version("1.20.0-rc.1+abc").as_deref(),
            Some("1.20.0-rc.1+abc")
        );
        assert_eq!(version("2").as_deref(), Some("2.0.0"));
        for bad in ["", "hubl-relay", "1.x", "1.2.3.4", "0.0.0"] {
            assert_eq!(version(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_a_newer_minor_version_is_warned_about() {
        let relay = |v| mismatch(v, "Relay", RELAY_VERSION_HEADER);
        assert_eq!(relay("1.19.4"), None);
        assert_eq!(relay("1.19.9"), None, "patch releases stay compatible");
        assert_eq!(relay("1.19.99-rc.1"), None);
        assert_eq!(relay("1.18.0"), None);
        assert_eq!(relay("garbage"), None);
        assert_eq!(
            relay("1.20.0-pre.1").as_deref(),
            Some(
                "Hubble CLI version is lower than Hubble Relay, API compatibility is not \
                 guaranteed, updating to a matching or higher version is recommended \
                 hubble-cli-version=1.19.4 hubble-relay-version=1.20.0-pre.1"
            )
        );
        assert!(
            mismatch("v2.0.0", "Server", SERVER_VERSION_HEADER).is_some_and(|w| w
                .contains("Hubble Server")
                && w.ends_with("hubble-server-version=2.0.0"))
        );
    }
}
