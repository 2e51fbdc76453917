//! Recurrence rules of guild scheduled events (Discord "Guild Scheduled Event Recurrence Rule
//! Object"): a rule of each frequency stored and returned (REST, dispatches, GUILD_CREATE),
//! removed with `null`; the invalid combinations of Discord's "System limitations" refused at
//! `recurrence_rule.*`; the occurrences a rule yields; and the move of a recurring event to
//! its next occurrence by the status job and by a PATCH to COMPLETED, stopping after `count`.

use hearth::service::scheduled_events::recurrence::next_occurrence;
use hearth::wire::{NWeekday, RecurrenceRule};
use serde_json::{Value, json};

use crate::gateway::Gw;
use crate::harness::*;
use crate::scheduled_events::{
    HOUR, INTENTS, about, cast, create, events, external, iso, now_ms, voice,
};

const DAY: i64 = 24 * HOUR;

/// Epoch ms of an ISO 8601 time.
fn ms(t: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t)
        .unwrap()
        .timestamp_millis()
}

fn ms_of(v: &Value) -> i64 {
    ms(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
}

/// Weekday of epoch ms `t`, 0 = Monday (Discord's numbering).
fn weekday(t: i64) -> i64 {
    use chrono::Datelike;
    i64::from(
        chrono::DateTime::from_timestamp_millis(t)
            .unwrap()
            .weekday()
            .num_days_from_monday(),
    )
}

fn rule(start: &str, frequency: i64) -> RecurrenceRule {
    RecurrenceRule {
        start: start.into(),
        end: None,
        frequency,
        interval: 1,
        by_weekday: None,
        by_n_weekday: None,
        by_month: None,
        by_month_day: None,
        by_year_day: None,
        count: None,
    }
}

#[test]
fn occurrences_follow_each_frequency() {
    let at = |t: &str| Some(ms(t));
    // Every weekday: Friday 1 January 2027, then Monday.
    let mut r = rule("2027-01-01T18:00:00Z", RecurrenceRule::DAILY);
    r.by_weekday = Some(vec![0, 1, 2, 3, 4]);
    assert_eq!(
        next_occurrence(&r, ms("2027-01-01T18:00:00Z")),
        at("2027-01-04T18:00:00Z")
    );
    // Ending early on Tuesday: Wednesday at the series' time of day.
    assert_eq!(
        next_occurrence(&r, ms("2027-01-05T18:30:00Z")),
        at("2027-01-06T18:00:00Z")
    );
    // Every day.
    let r = rule("2027-01-01T18:00:00Z", RecurrenceRule::DAILY);
    assert_eq!(
        next_occurrence(&r, ms("2027-01-01T18:00:00Z")),
        at("2027-01-02T18:00:00Z")
    );
    // Every other Wednesday, weeks counted from the start's.
    let mut r = rule("2027-01-06T09:15:00Z", RecurrenceRule::WEEKLY);
    r.interval = 2;
    r.by_weekday = Some(vec![2]);
    assert_eq!(
        next_occurrence(&r, ms("2027-01-06T09:15:00Z")),
        at("2027-01-20T09:15:00Z")
    );
    assert_eq!(
        next_occurrence(&r, ms("2027-01-20T09:15:00Z")),
        at("2027-02-03T09:15:00Z")
    );
    // Weekly without by_weekday: the start's weekday.
    let r = rule("2027-01-06T09:15:00Z", RecurrenceRule::WEEKLY);
    assert_eq!(
        next_occurrence(&r, ms("2027-01-06T10:00:00Z")),
        at("2027-01-13T09:15:00Z")
    );
    // The fourth Wednesday of the month.
    let mut r = rule("2027-01-27T20:00:00Z", RecurrenceRule::MONTHLY);
    r.by_n_weekday = Some(vec![NWeekday { n: 4, day: 2 }]);
    assert_eq!(
        next_occurrence(&r, ms("2027-01-27T20:00:00Z")),
        at("2027-02-24T20:00:00Z")
    );
    // The fifth Friday: February and March 2027 have none.
    let mut r = rule("2027-01-29T20:00:00Z", RecurrenceRule::MONTHLY);
    r.by_n_weekday = Some(vec![NWeekday { n: 5, day: 4 }]);
    assert_eq!(
        next_occurrence(&r, ms("2027-01-29T20:00:00Z")),
        at("2027-04-30T20:00:00Z")
    );
    // Annually on July 24, and on February 29 (leap years only).
    let mut r = rule("2027-07-24T12:00:00Z", RecurrenceRule::YEARLY);
    r.by_month = Some(vec![7]);
    r.by_month_day = Some(vec![24]);
    assert_eq!(
        next_occurrence(&r, ms("2027-07-24T12:00:00Z")),
        at("2028-07-24T12:00:00Z")
    );
    let r = rule("2028-02-29T12:00:00Z", RecurrenceRule::YEARLY);
    assert_eq!(
        next_occurrence(&r, ms("2028-02-29T12:00:00Z")),
        at("2032-02-29T12:00:00Z")
    );
    // Before the series starts: its first occurrence.
    assert_eq!(
        next_occurrence(&r, ms("2027-01-01T00:00:00Z")),
        at("2028-02-29T12:00:00Z")
    );
}

#[test]
fn count_and_end_bound_the_occurrences() {
    let mut r = rule("2027-01-01T18:00:00Z", RecurrenceRule::DAILY);
    r.count = Some(3);
    let first = ms("2027-01-01T18:00:00Z");
    assert_eq!(next_occurrence(&r, first), Some(first + DAY));
    assert_eq!(next_occurrence(&r, first + DAY), Some(first + 2 * DAY));
    assert_eq!(next_occurrence(&r, first + 2 * DAY), None);
    // Skipped occurrences count.
    assert_eq!(
        next_occurrence(&r, first + DAY + HOUR),
        Some(first + 2 * DAY)
    );
    r.count = Some(1);
    assert_eq!(next_occurrence(&r, first), None);
    let mut r = rule("2027-01-01T18:00:00Z", RecurrenceRule::DAILY);
    r.end = Some("2027-01-03T18:00:00Z".into());
    assert_eq!(next_occurrence(&r, first + DAY), Some(first + 2 * DAY));
    assert_eq!(next_occurrence(&r, first + 2 * DAY), None);
}

/// An event body recurring by `rule`, starting at `start` (and lasting an hour).
fn recurring(start: i64, rule: Value) -> Value {
    let mut b = external("Recurring");
    b["scheduled_start_time"] = json!(iso(start));
    b["scheduled_end_time"] = json!(iso(start + HOUR));
    b["recurrence_rule"] = rule;
    b
}

#[tokio::test]
async fn a_rule_of_each_frequency_is_stored_and_returned_everywhere() {
    let c = cast().await;
    let g = &c.g.id;
    let mut watch = Gw::identify(&c.ts, &c.bob.2, INTENTS).await;
    let start = now_ms() + DAY;
    let wd = weekday(start);
    let n = {
        use chrono::Datelike;
        (i64::from(
            chrono::DateTime::from_timestamp_millis(start)
                .unwrap()
                .day(),
        ) - 1)
            / 7
            + 1
    };
    let month_day = {
        use chrono::Datelike;
        let d = chrono::DateTime::from_timestamp_millis(start).unwrap();
        (i64::from(d.month()), i64::from(d.day()))
    };
    let rules = [
        json!({"frequency": 3, "interval": 1, "by_weekday": [5, 6]}),
        json!({"frequency": 2, "interval": 2, "by_weekday": [wd]}),
        json!({"frequency": 1, "interval": 1, "by_n_weekday": [{"n": n, "day": wd}]}),
        json!({"frequency": 0, "interval": 1, "by_month": [month_day.0], "by_month_day": [month_day.1]}),
    ];
    let mut ids = vec![];
    for (i, r) in rules.iter().enumerate() {
        let mut r = r.clone();
        // The second one names its start (the event's), the others leave it out.
        if i == 1 {
            r["start"] = json!(iso(start));
        }
        let e = create(&c.owner, g, recurring(start, r.clone())).await;
        let got = &e["recurrence_rule"];
        assert_eq!(ms_of(&got["start"]), start, "{e}");
        assert_eq!(got["start"], e["scheduled_start_time"]);
        for k in [
            "frequency",
            "interval",
            "by_weekday",
            "by_n_weekday",
            "by_month",
            "by_month_day",
        ] {
            let want = r.get(k).cloned().unwrap_or(Value::Null);
            assert_eq!(got[k], want, "{k} of {e}");
        }
        for k in ["end", "count", "by_year_day"] {
            assert_eq!(got[k], Value::Null, "{k} of {e}");
        }
        let id = s(&e["id"]);
        // Read back, and dispatched.
        let one = c.bob.1.get(&format!("{}/{id}", events(g))).await;
        assert_eq!(one.status, 200);
        assert_eq!(&one.body["recurrence_rule"], got);
        let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_CREATE", &id).await;
        assert_eq!(&d["recurrence_rule"], got);
        ids.push((id, got.clone()));
    }
    let list = c.bob.1.get(&events(g)).await;
    assert_eq!(list.status, 200);
    for (id, got) in &ids {
        let e = list
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == *id);
        assert_eq!(&e.unwrap()["recurrence_rule"], got);
    }
    let mut fresh = Gw::identify(&c.ts, &c.bob.2, INTENTS).await;
    let gc = fresh.expect("GUILD_CREATE").await;
    for (id, got) in &ids {
        let e = gc["guild_scheduled_events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == *id);
        assert_eq!(&e.unwrap()["recurrence_rule"], got);
    }

    // A modify that does not send it keeps it; `null` removes it; a rule can be added.
    let (daily, _) = &ids[0];
    let url = format!("{}/{daily}", events(g));
    let r = c.owner.patch(&url, json!({"name": "Renamed"})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["recurrence_rule"], ids[0].1);
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", daily).await;
    assert_eq!(d["name"], "Renamed");
    assert_eq!(d["recurrence_rule"], ids[0].1);
    let r = c.owner.patch(&url, json!({"recurrence_rule": null})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["recurrence_rule"], Value::Null);
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", daily).await;
    assert_eq!(d["recurrence_rule"], Value::Null);
    assert_eq!(c.owner.get(&url).await.body["recurrence_rule"], Value::Null);
    let stored =
        c.ts.hearth
            .db
            .scheduled_event(g.parse().unwrap(), daily.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(stored.recurrence_rule, None);
    let r = c
        .owner
        .patch(
            &url,
            json!({"recurrence_rule": {"frequency": 2, "interval": 1, "by_weekday": [wd]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["recurrence_rule"]["frequency"], 2);
    assert_eq!(ms_of(&r.body["recurrence_rule"]["start"]), start);
    // A new start moves the kept rule's start along.
    let r = c
        .owner
        .patch(&url, json!({"scheduled_start_time": iso(start + HOUR / 2)}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(ms_of(&r.body["recurrence_rule"]["start"]), start + HOUR / 2);
    // The rule read back and sent again is accepted as it is.
    let back = r.body["recurrence_rule"].clone();
    let r = c.owner.patch(&url, json!({"recurrence_rule": back})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["recurrence_rule"], back);
}

#[tokio::test]
async fn invalid_rules_answer_50035_at_the_field() {
    let c = cast().await;
    let g = &c.g.id;
    let start = now_ms() + DAY;
    let cases = [
        (
            json!({"frequency": 4, "interval": 1}),
            "recurrence_rule.frequency",
        ),
        // interval 2 is for weekly rules only, and nothing beyond 2.
        (
            json!({"frequency": 3, "interval": 2}),
            "recurrence_rule.interval",
        ),
        (
            json!({"frequency": 2, "interval": 3, "by_weekday": [1]}),
            "recurrence_rule.interval",
        ),
        // Not settable by clients.
        (
            json!({"frequency": 3, "interval": 1, "count": 3}),
            "recurrence_rule.count",
        ),
        (
            json!({"frequency": 3, "interval": 1, "end": iso(start + 9 * DAY)}),
            "recurrence_rule.end",
        ),
        (
            json!({"frequency": 0, "interval": 1, "by_year_day": [40]}),
            "recurrence_rule.by_year_day",
        ),
        // by_weekday: daily sets only, one day weekly, nothing else.
        (
            json!({"frequency": 3, "interval": 1, "by_weekday": [0, 2, 4]}),
            "recurrence_rule.by_weekday",
        ),
        (
            json!({"frequency": 2, "interval": 1, "by_weekday": [0, 1]}),
            "recurrence_rule.by_weekday",
        ),
        (
            json!({"frequency": 1, "interval": 1, "by_weekday": [0]}),
            "recurrence_rule.by_weekday",
        ),
        (
            json!({"frequency": 2, "interval": 1, "by_weekday": [7]}),
            "recurrence_rule.by_weekday",
        ),
        // by_n_weekday: monthly only, one entry, n 1-5.
        (
            json!({"frequency": 2, "interval": 1, "by_n_weekday": [{"n": 1, "day": 0}]}),
            "recurrence_rule.by_n_weekday",
        ),
        (
            json!({"frequency": 1, "interval": 1, "by_n_weekday": [{"n": 1, "day": 0}, {"n": 3, "day": 0}]}),
            "recurrence_rule.by_n_weekday",
        ),
        (
            json!({"frequency": 1, "interval": 1, "by_n_weekday": [{"n": 6, "day": 0}]}),
            "recurrence_rule.by_n_weekday.0.n",
        ),
        // Mutually exclusive groups: by_weekday with by_n_weekday on a monthly rule.
        (
            json!({"frequency": 1, "interval": 1, "by_weekday": [0], "by_n_weekday": [{"n": 1, "day": 0}]}),
            "recurrence_rule.by_weekday",
        ),
        // by_month and by_month_day: yearly only, both, one each, a real date.
        (
            json!({"frequency": 3, "interval": 1, "by_month": [7], "by_month_day": [24]}),
            "recurrence_rule.by_month",
        ),
        (
            json!({"frequency": 0, "interval": 1, "by_month": [7]}),
            "recurrence_rule.by_month_day",
        ),
        (
            json!({"frequency": 0, "interval": 1, "by_month_day": [24]}),
            "recurrence_rule.by_month",
        ),
        (
            json!({"frequency": 0, "interval": 1, "by_month": [7, 8], "by_month_day": [24]}),
            "recurrence_rule.by_month",
        ),
        (
            json!({"frequency": 0, "interval": 1, "by_month": [2], "by_month_day": [30]}),
            "recurrence_rule.by_month_day",
        ),
        (
            json!({"frequency": 0, "interval": 1, "by_month": [13], "by_month_day": [1]}),
            "recurrence_rule.by_month",
        ),
        // The start is the event's.
        (
            json!({"frequency": 3, "interval": 1, "start": iso(start + HOUR)}),
            "recurrence_rule.start",
        ),
        (
            json!({"frequency": 3, "interval": 1, "start": "soon"}),
            "recurrence_rule.start",
        ),
    ];
    for (rule, path) in &cases {
        let r = c
            .owner
            .post(&events(g), recurring(start, rule.clone()))
            .await;
        assert_field_error(&r, path);
    }
    // The same checks on a modify; nothing was stored.
    let e = create(&c.owner, g, recurring(start, Value::Null)).await;
    assert_eq!(e["recurrence_rule"], Value::Null);
    let url = format!("{}/{}", events(g), s(&e["id"]));
    for (rule, path) in &cases {
        let r = c.owner.patch(&url, json!({"recurrence_rule": rule})).await;
        assert_field_error(&r, path);
    }
    let list = c.owner.get(&events(g)).await.body;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["recurrence_rule"], Value::Null);
}

#[tokio::test]
async fn an_ended_occurrence_moves_the_event_to_the_next_one_until_count() {
    let c = cast().await;
    let g = &c.g.id;
    let gid: i64 = g.parse().unwrap();
    let h = &c.ts.hearth;
    let mut watch = Gw::identify(&c.ts, &c.bob.2, INTENTS).await;
    let now = now_ms();
    let start = now + HOUR;
    let e = create(
        &c.owner,
        g,
        recurring(start, json!({"frequency": 3, "interval": 1})),
    )
    .await;
    let id = s(&e["id"]);
    let eid: i64 = id.parse().unwrap();
    about(&mut watch, "GUILD_SCHEDULED_EVENT_CREATE", &id).await;

    // The job starts the occurrence, then its end moves the event to tomorrow.
    assert_eq!(h.scheduled_event_pass(start + 1000).await.unwrap(), 1);
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", &id).await;
    assert_eq!(d["status"], 2);
    assert_eq!(
        h.scheduled_event_pass(start + HOUR + 1000).await.unwrap(),
        1
    );
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", &id).await;
    assert_eq!(d["status"], 1, "{d}");
    assert_eq!(ms_of(&d["scheduled_start_time"]), start + DAY);
    assert_eq!(ms_of(&d["scheduled_end_time"]), start + DAY + HOUR);
    assert_eq!(ms_of(&d["recurrence_rule"]["start"]), start);
    let stored = h.db.scheduled_event(gid, eid).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.start_at, stored.end_at),
        (1, start + DAY, Some(start + DAY + HOUR))
    );
    let got = c.bob.1.get(&format!("{}/{id}", events(g))).await.body;
    assert_eq!(got["status"], 1);
    assert_eq!(ms_of(&got["scheduled_start_time"]), start + DAY);

    // With `count` 2 (set by the server, never by a client), the second occurrence is the
    // last: its end completes the event.
    let mut rule: RecurrenceRule =
        serde_json::from_str(stored.recurrence_rule.as_deref().unwrap()).unwrap();
    rule.count = Some(2);
    let mut ch =
        h.db.change(hearth::storage::Lock::Guild(gid))
            .await
            .unwrap();
    let moved = hearth::storage::ScheduledEventRow {
        recurrence_rule: Some(serde_json::to_string(&rule).unwrap()),
        ..stored.clone()
    };
    assert!(ch.update_scheduled_event(&moved, 1).await.unwrap());
    ch.commit().await.unwrap();
    assert_eq!(h.scheduled_event_pass(start + DAY + 1000).await.unwrap(), 1);
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", &id).await;
    assert_eq!(d["status"], 2);
    assert_eq!(
        h.scheduled_event_pass(start + DAY + HOUR + 1000)
            .await
            .unwrap(),
        1
    );
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", &id).await;
    assert_eq!(d["status"], 3, "{d}");
    assert_eq!(ms_of(&d["scheduled_start_time"]), start + DAY);
    assert_eq!(d["recurrence_rule"]["count"], 2);
    let stored = h.db.scheduled_event(gid, eid).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.start_at), (3, start + DAY));
    // It stays completed.
    assert_eq!(h.scheduled_event_pass(start + 3 * DAY).await.unwrap(), 0);
    assert_eq!(
        h.db.scheduled_event(gid, eid)
            .await
            .unwrap()
            .unwrap()
            .status,
        3
    );
}

#[tokio::test]
async fn ending_or_missing_an_occurrence_moves_a_channel_event_along() {
    let c = cast().await;
    let g = &c.g.id;
    let gid: i64 = g.parse().unwrap();
    let h = &c.ts.hearth;
    let mut watch = Gw::identify(&c.ts, &c.bob.2, INTENTS).await;
    let start = now_ms() + HOUR;
    // Every other week, on the start's weekday; ended by a PATCH to COMPLETED.
    let mut b = voice("Standup", &c.vc);
    b["scheduled_start_time"] = json!(iso(start));
    b["scheduled_end_time"] = json!(iso(start + HOUR));
    b["recurrence_rule"] = json!({"frequency": 2, "interval": 2, "by_weekday": [weekday(start)]});
    let id = s(&create(&c.owner, g, b).await["id"]);
    let url = format!("{}/{id}", events(g));
    let r = c.owner.patch(&url, json!({"status": 2})).await;
    assert_eq!(r.status, 200, "{r:?}");
    about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", &id).await;
    let r = c.owner.patch(&url, json!({"status": 3})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["status"], 1, "{r:?}");
    assert_eq!(ms_of(&r.body["scheduled_start_time"]), start + 14 * DAY);
    assert_eq!(
        ms_of(&r.body["scheduled_end_time"]),
        start + 14 * DAY + HOUR
    );
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", &id).await;
    assert_eq!(d["status"], 1);
    assert_eq!(ms_of(&d["scheduled_start_time"]), start + 14 * DAY);
    let stored =
        h.db.scheduled_event(gid, id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!((stored.status, stored.start_at), (1, start + 14 * DAY));

    // Never started: where a one-off event is canceled, it moves on two weeks.
    let later = start + 14 * DAY;
    assert_eq!(
        h.scheduled_event_pass(later + 3 * HOUR + 1000)
            .await
            .unwrap(),
        1
    );
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", &id).await;
    assert_eq!(d["status"], 1, "{d}");
    assert_eq!(ms_of(&d["scheduled_start_time"]), later + 14 * DAY);
    // A one-off event in the same place is canceled (the control).
    let once = s(&create(&c.owner, g, voice("Once", &c.vc)).await["id"]);
    assert_eq!(
        h.scheduled_event_pass(now_ms() + 5 * HOUR).await.unwrap(),
        1
    );
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", &once).await;
    assert_eq!(d["status"], 4);
}
