//! `hubl top --demo` in a real terminal: tmux runs it, send-keys types,
//! capture-pane reads the screen. Checks that the screen shows the demo's
//! cilium-test groups, that `d` leaves only drops, and that `q` leaves the
//! alternate screen with the terminal's modes restored.
//!
//! Needs tmux (`apt-get install tmux`; `.ci/run` installs it). Without it
//! the test fails rather than pass unseen, unless HUBL_SKIP_TMUX=1 says
//! the skip is meant.

use std::{
    process::Command,
    thread,
    time::{Duration, Instant},
};

/// A tmux server of our own, on its own socket, ended on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "top"])
    }

    /// Waits until the screen satisfies `done`; panics with the screen
    /// after `seconds`.
    fn wait_for(&self, what: &str, seconds: u64, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited {seconds}s for {what}; screen:\n{screen}"
            );
            thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

#[test]
fn top_demo_in_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        if std::env::var_os("HUBL_SKIP_TMUX").is_some() {
            eprintln!("tmux is not installed: skipped as HUBL_SKIP_TMUX asks");
            return;
        }
        panic!(
            "tmux is not installed: apt-get install tmux (.ci/run does), or set HUBL_SKIP_TMUX=1"
        );
    }
    let tmux = Tmux {
        socket: format!("hubl-test-{}", std::process::id()),
    };
    let script = format!(
        "TZ=UTC HUBBLE_CONFIG=/nonexistent/hubl-test-config.yaml {} top --demo; \
         echo \"exit=$?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo; sleep 60",
        env!("CARGO_BIN_EXE_hubl")
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "top",
        "-x",
        "220",
        "-y",
        "45",
        "sh",
        "-c",
        &script,
    ]);
    let screen = tmux.wait_for("the demo's groups", 30, |s| {
        s.contains("hubl top") && s.contains("cilium-test/client")
    });
    assert!(screen.contains("SOURCE"), "{screen}");
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "top", "#{alternate_on}"])
            .trim(),
        "1"
    );

    tmux.run(&["send-keys", "-t", "top", "d"]);
    // The demo drops a flow a few seconds into each replay.
    let screen = tmux.wait_for("only drops", 30, |s| {
        s.contains("DROPS ONLY") && s.contains("DROPPED") && s.contains("Policy denied")
    });
    let rows: Vec<&str> = screen
        .lines()
        .skip_while(|line| !line.contains("SOURCE"))
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert!(!rows.is_empty(), "{screen}");
    for row in rows {
        assert!(
            row.contains("DROPPED"),
            "a row that is not a drop: {row}\n{screen}"
        );
    }

    tmux.run(&["send-keys", "-t", "top", "q"]);
    // stty's modes come after the exit status.
    let screen = tmux.wait_for("hubl to exit", 15, |s| {
        s.contains("exit=")
            && s.lines()
                .any(|line| matches!(line.trim(), "echo" | "-echo"))
    });
    assert!(screen.contains("exit=0"), "{screen}");
    assert!(!screen.contains("DROPS ONLY"), "the view is gone: {screen}");
    let modes: Vec<&str> = screen.lines().map(str::trim).collect();
    assert!(
        modes.contains(&"icanon") && modes.contains(&"echo"),
        "raw mode left on:\n{screen}"
    );
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "top", "#{alternate_on}"])
            .trim(),
        "0"
    );
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "top", "#{cursor_flag}"])
            .trim(),
        "1"
    );
}
