//! Progress of a study's cells on standard error. The estimate of the time left is
//! weighted by each cell's expected work ([`crate::study::engine::Study::cell_work`]), so
//! a grid whose cheap cells run first does not promise an early end. On a terminal it is a
//! bar; otherwise (a log file, Slurm, nohup) a plain line every 10 seconds or every tenth
//! of the work, whichever comes first, so a log shows how far a run got.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::io::format::{duration, estimate};

/// How often a plain line is printed at most, when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(10);

/// The counts behind the display.
struct State {
    cells_done: usize,
    work_done: f64,
    /// The work done by this session (what the rate is estimated from).
    session_work: f64,
    last_line: Instant,
    last_line_fraction: f64,
}

/// A study's progress display.
pub struct Progress {
    name: &'static str,
    cells: usize,
    work: f64,
    started: Instant,
    bar: Option<ProgressBar>,
    state: Mutex<State>,
}

impl Progress {
    /// Start showing the progress of `cells` cells of total `work`, of which
    /// `cells_done` (worth `work_done`) are already finished.
    pub fn start(
        name: &'static str,
        cells: usize,
        cells_done: usize,
        work: f64,
        work_done: f64,
    ) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{prefix} {elapsed} {wide_bar} {msg}")
                    .expect("a valid template"),
            );
            bar.set_prefix(name);
            bar
        });
        let progress = Progress {
            name,
            cells,
            work,
            started: Instant::now(),
            bar,
            state: Mutex::new(State {
                cells_done,
                work_done,
                session_work: 0.0,
                last_line: Instant::now(),
                last_line_fraction: 0.0,
            }),
        };
        if let Ok(state) = progress.state.lock() {
            progress.show(&state);
        }
        progress
    }

    /// The fraction of the work done.
    fn fraction(&self, state: &State) -> f64 {
        if self.work > 0.0 {
            (state.work_done / self.work).min(1.0)
        } else {
            state.cells_done as f64 / self.cells.max(1) as f64
        }
    }

    /// Seconds left: this session's time per unit of work times the work left.
    fn seconds_left(&self, state: &State) -> Option<f64> {
        (state.session_work > 0.0).then(|| {
            self.started.elapsed().as_secs_f64() / state.session_work
                * (self.work - state.work_done).max(0.0)
        })
    }

    fn describe(&self, state: &State) -> String {
        let left = match self.seconds_left(state) {
            _ if state.cells_done == self.cells => "done".to_string(),
            Some(seconds) => format!("{} left", estimate(seconds)),
            None => "estimating time left".to_string(),
        };
        format!(
            "{}/{} cells, {:.0}% of the work, {left}",
            state.cells_done,
            self.cells,
            100.0 * self.fraction(state)
        )
    }

    fn show(&self, state: &State) {
        if let Some(bar) = &self.bar {
            bar.set_position((1000.0 * self.fraction(state)) as u64);
            bar.set_message(self.describe(state));
        }
    }

    /// A cell worth `work` finished.
    pub fn cell_done(&self, work: f64) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        state.cells_done += 1;
        state.work_done += work;
        state.session_work += work;
        self.show(&state);
        if self.bar.is_none() {
            let fraction = self.fraction(&state);
            let all_done = state.cells_done == self.cells;
            if all_done
                || fraction - state.last_line_fraction >= 0.1
                || state.last_line.elapsed() >= LINE_EVERY
            {
                crate::io::console::line(&format!(
                    "{}: {}, {} elapsed",
                    self.name,
                    self.describe(&state),
                    duration(self.started.elapsed().as_secs_f64())
                ));
                state.last_line = Instant::now();
                state.last_line_fraction = fraction;
            }
        }
    }

    /// Clear the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
