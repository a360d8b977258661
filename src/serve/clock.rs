//! The replay's one clock. A relay receives each flow once, whoever
//! follows: so the capture's flows are replayed on a single timeline that
//! starts with the relay, every follower joins it where it stands (as a
//! relay's follower gets what arrives from then on), and ServerStatus
//! counts each replayed flow once, on that timeline, however many clients
//! follow or none. The capture itself stands for the history before the
//! start: it is seen once, over the time it would take at the replay's
//! pace, so that seen flows ÷ uptime (Hubble UI's flows/s) is the replay's
//! rate from the first second on.

use std::time::{Duration, Instant};

use super::capture::{Capture, gap_seconds};
use crate::proto::Timestamp;

/// The longest pause between two flows when replaying at recorded pace, so
/// that a capture with gaps still shows life.
pub const MAX_PAUSE: Duration = Duration::from_secs(1);

/// When each flow of the capture comes round, cycle after cycle.
pub struct ReplayClock {
    /// The capture's flows, by their index in the capture.
    flows: Vec<usize>,
    /// Seconds from the start of a cycle to each flow.
    offsets: Vec<f64>,
    /// Seconds a whole cycle takes.
    cycle: f64,
    started: Instant,
}

impl ReplayClock {
    /// The timeline of `capture`'s flows at `rate` flows per second, or at
    /// their recorded pace (each pause at most `MAX_PAUSE`), from now.
    pub fn new(capture: &Capture, rate: Option<u32>) -> Self {
        let flows: Vec<usize> = (0..capture.len())
            .filter(|&index| capture.is_flow(index))
            .collect();
        let (offsets, cycle) = match rate {
            Some(rate) => {
                let step = 1.0 / f64::from(rate);
                let offsets = (0..flows.len()).map(|i| i as f64 * step).collect();
                (offsets, flows.len() as f64 * step)
            }
            None => recorded_pace(flows.iter().map(|&index| capture.time(index))),
        };
        Self {
            flows,
            offsets,
            cycle,
            started: Instant::now(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Seconds since the replay started.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// How many flows the replay has sent by `elapsed` seconds: the index
    /// of the next one.
    pub fn due(&self, elapsed: f64) -> u64 {
        if self.flows.is_empty() {
            return 0;
        }
        let cycles = (elapsed / self.cycle).floor().max(0.0);
        let into = elapsed - cycles * self.cycle;
        let within = self.offsets.partition_point(|&offset| offset <= into);
        (cycles as u64)
            .saturating_mul(self.flows.len() as u64)
            .saturating_add(within as u64)
    }

    /// When (in seconds since the start) the flow of index `index` is due.
    pub fn time_of(&self, index: u64) -> f64 {
        let n = self.flows.len() as u64;
        (index / n) as f64 * self.cycle + self.offsets[(index % n) as usize]
    }

    /// The index in the capture of the flow replayed at `index`.
    pub fn flow(&self, index: u64) -> usize {
        self.flows[(index % self.flows.len() as u64) as usize]
    }

    /// Seconds the capture's history stands for: one cycle.
    pub fn history_seconds(&self) -> f64 {
        self.cycle
    }

    /// Flows per second of the replay.
    pub fn rate(&self) -> f64 {
        if self.cycle > 0.0 {
            self.flows.len() as f64 / self.cycle
        } else {
            0.0
        }
    }
}

/// Offsets at the recorded pace, and the cycle: after the last flow the
/// replay pauses for the mean pause, or a second when the flows share one
/// time, so that it never spins.
fn recorded_pace(times: impl ExactSizeIterator<Item = Option<Timestamp>>) -> (Vec<f64>, f64) {
    let mut offsets = Vec::with_capacity(times.len());
    let mut offset = 0.0;
    let mut previous: Option<Timestamp> = None;
    for time in times {
        if let (Some(previous), Some(time)) = (previous, time) {
            offset += gap_seconds(previous, time).clamp(0.0, MAX_PAUSE.as_secs_f64());
        }
        if time.is_some() {
            previous = time;
        }
        offsets.push(offset);
    }
    let pauses = offsets.len().saturating_sub(1);
    let wrap = if pauses > 0 && offset > 0.0 {
        offset / pauses as f64
    } else {
        MAX_PAUSE.as_secs_f64()
    };
    (offsets, offset + wrap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(times: &[&str]) -> Capture {
        let text: String = times
            .iter()
            .map(|time| format!("{{\"flow\":{{\"time\":\"{time}\"}},\"time\":\"{time}\"}}\n"))
            .collect();
        Capture::parse(text.as_bytes()).0
    }

    #[test]
    fn recorded_pauses_are_kept_up_to_a_second() {
        let clock = ReplayClock::new(
            &capture(&[
                "2023-01-01T00:00:00Z",
                "2023-01-01T00:00:00.5Z",
                "2023-01-01T01:00:00Z",
            ]),
            None,
        );
        assert_eq!(clock.offsets, [0.0, 0.5, 1.5]);
        // After the last flow, the mean pause.
        assert_eq!(clock.cycle, 2.25);
        assert_eq!(clock.due(0.0), 1);
        assert_eq!(clock.due(0.49), 1);
        assert_eq!(clock.due(0.5), 2);
        assert_eq!(clock.due(2.0), 3);
        assert_eq!(clock.due(2.25), 4, "the second cycle begins");
        assert_eq!(clock.time_of(4), 2.75);
        assert_eq!(clock.flow(4), clock.flow(1));
        assert_eq!(clock.flow(5), 2);
    }

    #[test]
    fn a_rate_spaces_flows_evenly() {
        let clock = ReplayClock::new(
            &capture(&["2023-01-01T00:00:00Z", "2023-01-01T00:00:00Z"]),
            Some(4),
        );
        assert_eq!(clock.cycle, 0.5);
        assert_eq!(clock.rate(), 4.0);
        // Due at 0, 0.25, 0.5, 0.75 and 1.0 s.
        assert_eq!(clock.due(1.0), 5);
        assert_eq!(clock.time_of(5), 1.25);
    }

    #[test]
    fn flows_of_one_time_replay_once_a_second() {
        let clock = ReplayClock::new(&capture(&["2023-01-01T00:00:00Z"; 3]), None);
        assert_eq!(clock.rate(), 3.0);
        assert_eq!(clock.due(0.0), 3);
        assert_eq!(clock.due(1.0), 6);
        assert_eq!(ReplayClock::new(&capture(&[]), None).due(5.0), 0);
    }
}
