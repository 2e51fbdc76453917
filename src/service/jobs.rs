//! Runs of the background jobs, counted for `/metrics` (`hearth_job_runs_total{job, result}`,
//! README "Metrics and health"): the file collector's passes, message purge batches and
//! federation notice deliveries (one run per notice sent).

use std::collections::BTreeMap;

use parking_lot::Mutex;

/// Run counts per job since start.
#[derive(Debug, Default)]
pub struct JobRuns {
    runs: Mutex<BTreeMap<&'static str, (u64, u64)>>,
}

/// One job's counts ([`JobRuns::snapshot`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCount {
    pub job: &'static str,
    pub ok: u64,
    pub failed: u64,
}

impl JobRuns {
    /// Counts one run of `job` that succeeded (`ok`) or failed.
    pub fn record(&self, job: &'static str, ok: bool) {
        let mut runs = self.runs.lock();
        let c = runs.entry(job).or_default();
        if ok {
            c.0 += 1;
        } else {
            c.1 += 1;
        }
    }

    /// Every job that ran, by name.
    pub fn snapshot(&self) -> Vec<JobCount> {
        self.runs
            .lock()
            .iter()
            .map(|(job, (ok, failed))| JobCount {
                job,
                ok: *ok,
                failed: *failed,
            })
            .collect()
    }
}
