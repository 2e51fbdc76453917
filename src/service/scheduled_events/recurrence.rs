//! Recurrence rules of guild scheduled events (Discord "Resources > Guild Scheduled Event >
//! Guild Scheduled Event Recurrence Rule Object"): the checks of a rule sent in a create or
//! modify, the occurrences a rule yields, and the move of a recurring event to its next
//! occurrence when the current one ends.
//!
//! - **Checks** ([`checked_rule`]; 400 50035 at `recurrence_rule.<field>`), Discord's
//!   "System limitations": `frequency` 0 (YEARLY), 1 (MONTHLY), 2 (WEEKLY) or 3 (DAILY);
//!   `interval` 1, or 2 with WEEKLY (every other week); `count`, `end` and `by_year_day`
//!   cannot be set (null or left out); `by_weekday` only with DAILY, one of the sets
//!   [`DAILY_SETS`], or WEEKLY, one day; `by_n_weekday` only with MONTHLY, one entry with `n`
//!   1-5; `by_month` and `by_month_day` only with YEARLY, both, one value each, a date that
//!   exists (February 29 included). Each group being valid for one frequency only, the
//!   groups are mutually exclusive as Discord says. `start`, when given, must be the event's
//!   `scheduled_start_time` (or, in a modify, the stored rule's `start`, as a rule read back
//!   and sent again has it); left out or empty, the event's start is taken. Weekdays run
//!   from 0 (Monday) to 6 (Sunday), months from 1 to 12.
//! - **Occurrences** ([`next_occurrence`]): the rule's `start` is the first occurrence; the
//!   next ones are the days the rule selects, in UTC, at the time of day of `start`: DAILY on
//!   every day (or the days of `by_weekday`); WEEKLY on `by_weekday` (else the start's
//!   weekday) of every `interval`-th week counted from the start's week (weeks from Monday);
//!   MONTHLY on the n-th weekday of `by_n_weekday` (else the start's), a month without a
//!   fifth one skipped; YEARLY on `by_month`/`by_month_day` (else the start's date), February
//!   29 in leap years only. `count` bounds the occurrences (the first included), `end` their
//!   starts.
//! - **The move** ([`next_of`], used by the status job and by a modify to COMPLETED): when an
//!   occurrence of a recurring event ends (COMPLETED by the job or by a PATCH, the end of an
//!   EXTERNAL event) or is never started (where a one-off event would be CANCELED by the
//!   job), the same event goes back to SCHEDULED at the first occurrence after both its
//!   current start and now, keeping its duration, and is announced with
//!   GUILD_SCHEDULED_EVENT_UPDATE. With no occurrence left (`count`, `end`) it is COMPLETED
//!   (or CANCELED) as a one-off event. Each move is one conditional statement
//!   ([`crate::storage::Db::move_scheduled_event_to`]) or part of the modify's transaction.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::error::{FieldErrors, Result};
use crate::events::Event;
use crate::service::Hearth;
use crate::storage::ScheduledEventRow;
use crate::wire::{self, RecurrenceRule as Rule, ScheduledEventStatus as Status};

/// The weekday sets a DAILY rule may name (Discord's "known sets"), 0 = Monday.
pub const DAILY_SETS: [&[i64]; 6] = [
    &[0, 1, 2, 3, 4],
    &[1, 2, 3, 4, 5],
    &[6, 0, 1, 2, 3],
    &[4, 5],
    &[5, 6],
    &[6, 0],
];

/// Days scanned for the next occurrence: nine years, so that February 29 is found across a
/// century year that is not a leap year.
const SCAN_DAYS: usize = 9 * 366;

/// Days in `month` (1-12) of a leap year.
fn month_days(month: i64) -> i64 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn ms_of(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Checks rule `r` sent for an event starting at `start_ms` (module docs); `kept_start`: the
/// `start` of the rule stored before a modify. The rule to store (with `start` set, empty
/// lists as `null`), or `None` with the errors added to `errs`.
pub(crate) fn checked_rule(
    mut r: Rule,
    start_ms: i64,
    kept_start: Option<&str>,
    errs: &mut FieldErrors,
) -> Option<Rule> {
    let before = errs.0.len();
    let p = |f: &str| format!("recurrence_rule.{f}");
    for v in [&mut r.by_weekday, &mut r.by_month, &mut r.by_month_day] {
        if v.as_ref().is_some_and(Vec::is_empty) {
            *v = None;
        }
    }
    if r.by_n_weekday.as_ref().is_some_and(Vec::is_empty) {
        r.by_n_weekday = None;
    }
    if r.by_year_day.as_ref().is_some_and(Vec::is_empty) {
        r.by_year_day = None;
    }
    let freq = r.frequency;
    if !(Rule::YEARLY..=Rule::DAILY).contains(&freq) {
        errs.add(
            p("frequency"),
            "BASE_TYPE_CHOICES",
            "Value must be one of (0, 1, 2, 3).",
        );
        return None;
    }
    if r.interval != 1 && !(freq == Rule::WEEKLY && r.interval == 2) {
        errs.add(
            p("interval"),
            "GUILD_SCHEDULED_EVENT_RECURRENCE_RULE_INVALID_INTERVAL",
            "Must be 1, or 2 for a weekly rule.",
        );
    }
    for (f, set) in [
        ("count", r.count.is_some()),
        ("end", r.end.is_some()),
        ("by_year_day", r.by_year_day.is_some()),
    ] {
        if set {
            errs.add(
                p(f),
                "GUILD_SCHEDULED_EVENT_RECURRENCE_RULE_FIELD_NOT_SETTABLE",
                "This field cannot be set.",
            );
        }
    }
    if let Some(days) = &r.by_weekday {
        let f = p("by_weekday");
        if days.iter().any(|d| !(0..=6).contains(d)) {
            errs.add(
                f,
                "BASE_TYPE_CHOICES",
                "Weekdays are 0 (Monday) to 6 (Sunday).",
            );
        } else if freq == Rule::DAILY {
            let mut sorted = days.clone();
            sorted.sort_unstable();
            sorted.dedup();
            let known = DAILY_SETS.iter().any(|s| {
                let mut s = s.to_vec();
                s.sort_unstable();
                s == sorted && s.len() == days.len()
            });
            if !known {
                errs.add(
                    f,
                    "GUILD_SCHEDULED_EVENT_RECURRENCE_RULE_INVALID_WEEKDAYS",
                    "A daily rule's weekdays must be Mon-Fri, Tue-Sat, Sun-Thu, Fri-Sat, Sat-Sun or Sun-Mon.",
                );
            }
        } else if freq == Rule::WEEKLY {
            if days.len() != 1 {
                errs.add(
                    f,
                    "GUILD_SCHEDULED_EVENT_RECURRENCE_RULE_INVALID_WEEKDAYS",
                    "A weekly rule takes exactly one weekday.",
                );
            }
        } else {
            errs.add(
                f,
                "GUILD_SCHEDULED_EVENT_RECURRENCE_RULE_INVALID_FIELD",
                "Only daily and weekly rules take by_weekday.",
            );
        }
    }
    if let Some(nw) = &r.by_n_weekday {
        let f = p("by_n_weekday");
        if freq != Rule::MONTHLY {
            errs.add(
                f,
                "GUILD_SCHEDULED_EVENT_RECURRENCE_RULE_INVALID_FIELD",
                "Only monthly rules take by_n_weekday.",
            );
        } else if nw.len() != 1 {
            errs.add(
                f,
                "GUILD_SCHEDULED_EVENT_RECURRENCE_RULE_INVALID_N_WEEKDAY",
                "A monthly rule takes exactly one n-th weekday.",
            );
        } else if !(1..=5).contains(&nw[0].n) {
            errs.add(
                format!("{f}.0.n"),
                "BASE_TYPE_CHOICES",
                "The week is 1 to 5.",
            );
        } else if !(0..=6).contains(&nw[0].day) {
            errs.add(
                format!("{f}.0.day"),
                "BASE_TYPE_CHOICES",
                "Weekdays are 0 (Monday) to 6 (Sunday).",
            );
        }
    }
    let (month, day) = (&r.by_month, &r.by_month_day);
    if month.is_some() || day.is_some() {
        if freq != Rule::YEARLY {
            let f = if month.is_some() {
                "by_month"
            } else {
                "by_month_day"
            };
            errs.add(
                p(f),
                "GUILD_SCHEDULED_EVENT_RECURRENCE_RULE_INVALID_FIELD",
                "Only yearly rules take by_month and by_month_day.",
            );
        } else {
            match (month.as_deref(), day.as_deref()) {
                (Some([m]), Some([d])) => {
                    if !(1..=12).contains(m) {
                        errs.add(p("by_month"), "BASE_TYPE_CHOICES", "Months are 1 to 12.");
                    } else if !(1..=month_days(*m)).contains(d) {
                        errs.add(
                            p("by_month_day"),
                            "BASE_TYPE_CHOICES",
                            "No such day in that month.",
                        );
                    }
                }
                (None, _) => errs.add(
                    p("by_month"),
                    "BASE_TYPE_REQUIRED",
                    "A yearly rule with by_month_day needs by_month.",
                ),
                (_, None) => errs.add(
                    p("by_month_day"),
                    "BASE_TYPE_REQUIRED",
                    "A yearly rule with by_month needs by_month_day.",
                ),
                (Some(m), Some(_)) => {
                    let f = if m.len() != 1 {
                        "by_month"
                    } else {
                        "by_month_day"
                    };
                    errs.add(
                        p(f),
                        "GUILD_SCHEDULED_EVENT_RECURRENCE_RULE_INVALID_DATE",
                        "A yearly rule takes exactly one month and one day.",
                    );
                }
            }
        }
    }
    if r.start.is_empty() {
        r.start = wire::iso(start_ms);
    } else {
        match ms_of(&r.start) {
            None => errs.add(
                p("start"),
                "DATE_TIME_INVALID",
                "Invalid ISO 8601 timestamp.",
            ),
            Some(ms) if ms == start_ms => r.start = wire::iso(start_ms),
            Some(ms) if kept_start.and_then(ms_of) == Some(ms) => {}
            Some(_) => errs.add(
                p("start"),
                "GUILD_SCHEDULED_EVENT_RECURRENCE_RULE_START_MISMATCH",
                "Must be the event's scheduled_start_time.",
            ),
        }
    }
    (errs.0.len() == before).then_some(r)
}

/// The Monday of `d`'s week.
fn monday(d: NaiveDate) -> NaiveDate {
    d - chrono::Days::new(u64::from(d.weekday().num_days_from_monday()))
}

fn weekday(d: NaiveDate) -> i64 {
    i64::from(d.weekday().num_days_from_monday())
}

/// The n-th (1-5) weekday of its month `d` is.
fn nth(d: NaiveDate) -> i64 {
    (i64::from(d.day()) - 1) / 7 + 1
}

/// Whether the rule selects day `d`, for a series whose first occurrence is on `first`.
fn selects(r: &Rule, first: NaiveDate, d: NaiveDate) -> bool {
    let wd = weekday(d);
    match r.frequency {
        Rule::DAILY => r.by_weekday.as_ref().is_none_or(|s| s.contains(&wd)),
        Rule::WEEKLY => {
            let on = match &r.by_weekday {
                Some(s) => s.contains(&wd),
                None => wd == weekday(first),
            };
            let weeks = (monday(d) - monday(first)).num_days() / 7;
            on && weeks.rem_euclid(r.interval.max(1)) == 0
        }
        Rule::MONTHLY => {
            let (n, day) = match r.by_n_weekday.as_deref() {
                Some([x, ..]) => (x.n, x.day),
                _ => (nth(first), weekday(first)),
            };
            wd == day && nth(d) == n
        }
        Rule::YEARLY => {
            let (m, md) = match (r.by_month.as_deref(), r.by_month_day.as_deref()) {
                (Some([m, ..]), Some([md, ..])) => (*m, *md),
                _ => (i64::from(first.month()), i64::from(first.day())),
            };
            i64::from(d.month()) == m && i64::from(d.day()) == md
        }
        _ => false,
    }
}

/// The first time the rule selects strictly after `after` (ms), ignoring `count` and `end`;
/// `first` is the series' first occurrence.
fn following(r: &Rule, first: DateTime<Utc>, after: i64) -> Option<i64> {
    let time = first.time();
    let after_day = DateTime::from_timestamp_millis(after)?.date_naive();
    let mut d = after_day.max(first.date_naive());
    for _ in 0..SCAN_DAYS {
        let t = d.and_time(time).and_utc().timestamp_millis();
        if t > after && selects(r, first.date_naive(), d) {
            return Some(t);
        }
        d = d.succ_opt()?;
    }
    None
}

/// The first occurrence of rule `r` starting strictly after `after` (ms), within its `count`
/// and `end` (module docs); `None` when the series is over (or the rule's `start` is not a
/// time).
pub fn next_occurrence(r: &Rule, after: i64) -> Option<i64> {
    let first = DateTime::parse_from_rfc3339(&r.start)
        .ok()?
        .with_timezone(&Utc);
    let first_ms = first.timestamp_millis();
    let next = if after < first_ms {
        first_ms
    } else {
        following(r, first, after)?
    };
    if r.end.as_deref().and_then(ms_of).is_some_and(|e| next > e) {
        return None;
    }
    if let Some(count) = r.count {
        // Occurrences before `next`, the first included.
        let (mut n, mut t) = (1, first_ms);
        while n < count {
            t = following(r, first, t)?;
            if t >= next {
                break;
            }
            n += 1;
        }
        if next > first_ms && n >= count {
            return None;
        }
    }
    Some(next)
}

/// Where event `r` goes when its current occurrence ends at `now` (ms): the next
/// occurrence's start and end (the same duration), or `None` when it does not recur or its
/// series is over.
pub(crate) fn next_of(r: &ScheduledEventRow, now: i64) -> Option<(i64, Option<i64>)> {
    let rule: Rule = serde_json::from_str(r.recurrence_rule.as_deref()?).ok()?;
    let start = next_occurrence(&rule, r.start_at.max(now))?;
    Some((start, r.end_at.map(|e| start + (e - r.start_at))))
}

impl Hearth {
    /// Ends the current occurrence of event `r`, which is in status `from`: to its next
    /// occurrence (SCHEDULED again, [`next_of`]) when it recurs, to `to` otherwise; in one
    /// conditional statement, announced with GUILD_SCHEDULED_EVENT_UPDATE. Whether it moved
    /// (`false`: it was no longer in `from`).
    pub(crate) async fn end_occurrence(
        &self,
        r: &ScheduledEventRow,
        from: Status,
        to: Status,
        now: i64,
    ) -> Result<bool> {
        let moved = match next_of(r, now) {
            Some((start, end)) => {
                self.db
                    .move_scheduled_event_to(r.id, from.db(), start, end)
                    .await?
            }
            None => {
                self.db
                    .set_scheduled_event_status(r.id, from.db(), to.db())
                    .await?
            }
        };
        match moved {
            Some(row) => {
                self.publish(Self::scheduled_event_dispatch(
                    Event::GuildScheduledEventUpdate,
                    &row,
                ));
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
