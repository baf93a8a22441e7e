//! `--report-beside`: the whole province's mutual-aid report (what a staff member's report
//! page asks for, every day of every division), run over and over on a reader connection of
//! the store while an open-loop run settles. Reads run beside the writer, never on it
//! (issue 11), so the run's latencies with the report beside it should match the run
//! without: the bench prints both.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use gongji_engine::EngineHandle;
use gongji_server::app::DynStore;
use gongji_store::read::ReportQuery;

/// The report thread; [`ReportLoad::stop`] ends it and says how many reports it finished.
pub struct ReportLoad {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<u64, String>>>,
}

impl ReportLoad {
    /// Starts the report loop on a reader of the store `handle` writes to.
    pub fn start(handle: &EngineHandle<DynStore>) -> Result<ReportLoad, String> {
        let (tx, rx) = mpsc::channel();
        let asked = handle.read(Box::new(move |engine| {
            let _ = tx.send(engine.store_mut().reader_source());
        }));
        let source = asked
            .then(|| rx.recv().ok().flatten())
            .flatten()
            .ok_or("--report-beside: this store has no reader connections")?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("gongji-bench-report".into())
            .spawn(move || {
                let mut reader = source.open_reader().map_err(|e| e.to_string())?;
                let whole_province = ReportQuery {
                    from: "1900-01-01".into(),
                    to: "2999-12-31".into(),
                    admdvs_prefix: String::new(),
                };
                let mut done = 0_u64;
                while !stopping.load(Ordering::Relaxed) {
                    reader
                        .mutual_aid_report(&whole_province)
                        .map_err(|e| e.to_string())?;
                    done += 1;
                }
                Ok(done)
            })
            .map_err(|e| e.to_string())?;
        Ok(ReportLoad {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the loop after the report under way; the reports finished.
    pub fn stop(mut self) -> Result<u64, String> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(done)) => done,
            Some(Err(_)) => Err("the report thread panicked".into()),
            None => Ok(0),
        }
    }
}

impl Drop for ReportLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
