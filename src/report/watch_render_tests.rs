//! Unit tests of watch mode's rendering, into a `Vec<u8>`.

use std::time::Duration;

use super::*;
use crate::report::watch::History;
use crate::report::watch::tests::{healthy, route_removed, t};

const PLAIN: Style = Style { color: false };

fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
    let mut buf = Vec::new();
    f(&mut buf).unwrap();
    String::from_utf8(buf).unwrap()
}

#[test]
fn durations_read_well() {
    assert_eq!(human_duration(Duration::from_millis(850)), "850 ms");
    assert_eq!(human_duration(Duration::from_millis(12_340)), "12.3 s");
    assert_eq!(human_duration(Duration::from_secs(125)), "2 min 05 s");
}

#[test]
fn off_a_terminal_one_line_per_cycle_then_its_transitions_then_the_health() {
    let mut h = History::new();
    let ok = healthy();
    let bad = route_removed();
    let bucket = ok.targets[0].bucket.clone();
    let o1 = h.observe(t(0), &ok);
    let first = text(|w| lines(w, &o1, Some(&ok), None, PLAIN));
    assert_eq!(first.lines().count(), 1, "{first}");
    assert!(
        first.starts_with("2027-01-15T08:00:00Z cycle 1 ok "),
        "{first}"
    );
    assert!(
        first.contains(&format!("| {bucket} gateway_endpoint ")),
        "{first}"
    );
    assert!(!first.contains('\x1b'));

    let o2 = h.observe(t(1), &bad);
    let second = text(|w| lines(w, &o2, Some(&bad), None, PLAIN));
    let l: Vec<&str> = second.lines().collect();
    assert_eq!(l.len(), 5, "{second}");
    assert!(
        l[0].starts_with("2027-01-15T08:00:01Z cycle 2 FAIL "),
        "{}",
        l[0]
    );
    assert!(l[0].contains("route FAIL"), "{}", l[0]);
    assert!(
        l[0].contains("[gateway_endpoint_not_on_route_table]"),
        "{}",
        l[0]
    );
    assert_eq!(
        l[1],
        format!(
            "2027-01-15T08:00:01Z transition {bucket}: path gateway_endpoint → internet_gateway"
        )
    );
    assert_eq!(
        l[2],
        format!("2027-01-15T08:00:01Z transition {bucket}: check route pass → FAIL")
    );
    assert_eq!(
        l[3],
        format!(
            "2027-01-15T08:00:01Z transition {bucket}: finding gateway_endpoint_not_on_route_table appeared"
        )
    );
    assert_eq!(l[4], "2027-01-15T08:00:01Z failing: first failure, cycle 2");

    let o3 = h.observe(t(13), &bad);
    assert_eq!(
        text(|w| lines(w, &o3, Some(&bad), None, PLAIN))
            .lines()
            .count(),
        1
    );
    let o4 = h.observe(t(15), &ok);
    let fourth = text(|w| lines(w, &o4, Some(&ok), None, PLAIN));
    let last = fourth.lines().last().unwrap();
    assert_eq!(
        last,
        "2027-01-15T08:00:15Z recovered at cycle 4, 14.0 s after the first failure (cycle 2 at \
         2027-01-15T08:00:01Z); the change took effect between 2027-01-15T08:00:13Z and \
         2027-01-15T08:00:15Z"
    );
    assert!(fourth.contains("finding gateway_endpoint_not_on_route_table gone"));
}

#[test]
fn a_cycle_that_could_not_run_is_one_error_line() {
    let mut h = History::new();
    let o = h.observe_error(t(0));
    let s = text(|w| lines(w, &o, None, Some("no region"), PLAIN));
    assert_eq!(
        s,
        "2027-01-15T08:00:00Z cycle 1 ERROR no region\n2027-01-15T08:00:00Z failing: first failure, cycle 1\n"
    );
}

#[test]
fn the_screen_redraws_in_place_and_colours_only_when_asked() {
    let mut h = History::new();
    let ok = healthy();
    let bad = route_removed();
    h.observe(t(0), &ok);
    let o = h.observe(t(5), &bad);
    let plain = text(|w| {
        screen(
            w,
            &h.summary(),
            Duration::from_secs(5),
            &o,
            Some(&bad),
            None,
            PLAIN,
        )
    });
    assert!(plain.starts_with("\x1b[H\x1b[2J"), "the redraw");
    assert_eq!(plain.matches('\x1b').count(), 2, "no colour: {plain:?}");
    assert!(
        plain.contains("every 5.0 s · cycle 2 at 2027-01-15T08:00:05Z · FAIL"),
        "{plain}"
    );
    assert!(plain.contains("internet_gateway"), "{plain}");
    assert!(
        plain.contains("error gateway_endpoint_not_on_route_table: "),
        "{plain}"
    );
    assert!(
        plain.contains("transitions (3 of 3, latest last):"),
        "{plain}"
    );
    assert!(
        plain.contains("failing since cycle 2 at 2027-01-15T08:00:05Z"),
        "{plain}"
    );
    assert!(
        plain
            .trim_end()
            .ends_with("Ctrl-C: print the summary and exit")
    );
    let colour = text(|w| {
        screen(
            w,
            &h.summary(),
            Duration::from_secs(5),
            &o,
            Some(&bad),
            None,
            Style { color: true },
        )
    });
    assert!(colour.contains("\x1b[31;1mFAIL\x1b[0m"), "{colour:?}");
}

#[test]
fn the_screen_keeps_the_last_ten_transitions() {
    let mut h = History::new();
    let (ok, bad) = (healthy(), route_removed());
    for i in 0..9 {
        h.observe(t(i), if i % 2 == 0 { &ok } else { &bad });
    }
    let o = h.observe(t(9), &bad);
    let s = text(|w| {
        screen(
            w,
            &h.summary(),
            Duration::from_secs(1),
            &o,
            Some(&bad),
            None,
            PLAIN,
        )
    });
    assert!(s.contains("transitions (10 of 27, latest last):"), "{s}");
    assert!(
        !s.contains("08:00:01Z"),
        "the oldest are not on the screen: {s}"
    );
}

#[test]
fn the_summary_lists_every_transition_and_the_propagation_delay() {
    let mut h = History::new();
    let (ok, bad) = (healthy(), route_removed());
    h.observe(t(0), &ok);
    h.observe(t(1), &bad);
    h.observe(t(2), &bad);
    h.observe(t(4), &ok);
    let s = text(|w| summary(w, &h.summary(), PLAIN));
    let l: Vec<&str> = s.lines().collect();
    assert_eq!(
        l[0],
        "watch summary: 4 cycles (2 failed) from 2027-01-15T08:00:00Z to 2027-01-15T08:00:04Z (4.0 s)"
    );
    assert_eq!(l[1], "transitions: 6");
    assert!(
        l[2].starts_with("  2027-01-15T08:00:01Z cycle 2 "),
        "{}",
        l[2]
    );
    assert!(
        l[2].ends_with(": path gateway_endpoint → internet_gateway"),
        "{}",
        l[2]
    );
    assert!(
        l[5].starts_with("  2027-01-15T08:00:04Z cycle 4 "),
        "{}",
        l[5]
    );
    assert!(
        l[5].ends_with(": path internet_gateway → gateway_endpoint"),
        "{}",
        l[5]
    );
    assert!(
        l[8].starts_with("recovered at cycle 4, 3.0 s after the first failure"),
        "{}",
        l[8]
    );
    assert_eq!(l[9], "last cycle: ok");
    assert_eq!(l.len(), 10);
}

#[test]
fn an_unrecovered_watch_says_so() {
    let mut h = History::new();
    h.observe(t(0), &route_removed());
    let s = text(|w| summary(w, &h.summary(), PLAIN));
    assert!(
        s.contains("failing since cycle 1 at 2027-01-15T08:00:00Z (not recovered)"),
        "{s}"
    );
    assert!(s.ends_with("last cycle: FAIL\n"), "{s}");
    let empty = History::new();
    let s = text(|w| summary(w, &empty.summary(), PLAIN));
    assert_eq!(
        s,
        "watch summary: 0 cycles (0 failed)\ntransitions: 0\nlast cycle: none (no cycle finished)\n"
    );
}
