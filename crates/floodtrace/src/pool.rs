//! Worker threads that take jobs from a bounded queue and whose results are handed on in
//! the order the jobs were given, so that merging them never depends on which thread
//! finished first (see ARCHITECTURE.md, Determinism).

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::Scope;

/// Results of numbered jobs that arrive in any order, handed on strictly in job order (how
/// chunk results are merged, so that they merge as one thread would).
pub struct InOrder<T> {
    pending: BTreeMap<u64, T>,
    next: u64,
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder {
            pending: BTreeMap::new(),
            next: 0,
        }
    }
}

impl<T> InOrder<T> {
    /// Take job `index`'s result; yields `(index, result)` of every job now due, in order.
    pub fn push(&mut self, index: u64, result: T) -> impl Iterator<Item = (u64, T)> + '_ {
        self.pending.insert(index, result);
        std::iter::from_fn(move || {
            let due = self.pending.remove(&self.next)?;
            self.next += 1;
            Some((self.next - 1, due))
        })
    }
}

/// A pool of workers in a thread scope. Jobs are numbered as they are given (to the
/// workers, or done by the caller itself), and every method that receives results passes
/// them to `deliver` in that order.
pub struct OrderedPool<J, R> {
    jobs: Option<mpsc::SyncSender<(u64, J)>>,
    results: mpsc::Receiver<(u64, R)>,
    order: InOrder<R>,
    next: u64,
    in_flight: usize,
    queue: usize,
}

impl<J: Send, R: Send> OrderedPool<J, R> {
    /// Spawn `workers` threads in `scope` that run `work` on each job; at most `queue` jobs
    /// wait for a worker.
    pub fn new<'scope, 'env, W>(
        scope: &'scope Scope<'scope, 'env>,
        workers: usize,
        queue: usize,
        work: &'scope W,
    ) -> Self
    where
        W: Fn(J) -> R + Sync,
        J: 'scope,
        R: 'scope,
    {
        let (job_tx, job_rx) = mpsc::sync_channel::<(u64, J)>(queue);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (res_tx, results) = mpsc::channel::<(u64, R)>();
        for _ in 0..workers.max(1) {
            let job_rx = Arc::clone(&job_rx);
            let res_tx = res_tx.clone();
            scope.spawn(move || loop {
                // The lock is held only while waiting for the next job.
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((index, job)) = job else { return };
                if res_tx.send((index, work(job))).is_err() {
                    return;
                }
            });
        }
        OrderedPool {
            jobs: Some(job_tx),
            results,
            order: InOrder::default(),
            next: 0,
            in_flight: 0,
            queue,
        }
    }

    /// Give the next job to the workers (waits while the queue is full).
    pub fn submit(&mut self, job: J) {
        if let Some(tx) = &self.jobs {
            // Fails only when every worker is gone, i.e. one panicked: the scope re-raises
            // that panic when it ends.
            if tx.send((self.next, job)).is_ok() {
                self.in_flight += 1;
            }
        }
        self.next += 1;
    }

    /// The next job was done by the caller: `result` takes its place in the order.
    pub fn done_here(&mut self, result: R, deliver: &mut impl FnMut(R)) {
        let index = self.next;
        self.next += 1;
        for (_, r) in self.order.push(index, result) {
            deliver(r);
        }
    }

    /// Whether as many jobs are with the workers as the queue holds (a caller that can do
    /// the next job itself keeps every core busy by doing so).
    pub fn is_full(&self) -> bool {
        self.in_flight >= self.queue
    }

    /// Deliver the results that are due, without waiting.
    pub fn poll(&mut self, deliver: &mut impl FnMut(R)) {
        while let Ok((index, r)) = self.results.try_recv() {
            self.take(index, r, deliver);
        }
    }

    /// Wait for one result from the workers, then deliver what is due.
    pub fn wait_one(&mut self, deliver: &mut impl FnMut(R)) {
        if self.in_flight > 0 {
            if let Ok((index, r)) = self.results.recv() {
                self.take(index, r, deliver);
            }
        }
    }

    /// Close the queue and deliver every remaining result.
    pub fn finish(mut self, deliver: &mut impl FnMut(R)) {
        self.jobs = None;
        while let Ok((index, r)) = self.results.recv() {
            self.take(index, r, deliver);
        }
    }

    fn take(&mut self, index: u64, r: R, deliver: &mut impl FnMut(R)) {
        self.in_flight -= 1;
        for (_, r) in self.order.push(index, r) {
            deliver(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_job_order_whoever_did_them() {
        // Jobs that finish out of order (later jobs sleep less), some done by the caller.
        let work = |i: u64| {
            std::thread::sleep(std::time::Duration::from_micros(50 * (20 - i % 20)));
            i
        };
        let mut got = Vec::new();
        std::thread::scope(|scope| {
            let mut pool = OrderedPool::new(scope, 3, 4, &work);
            let mut deliver = |r: u64| got.push(r);
            for i in 0..200u64 {
                if i % 7 == 3 {
                    pool.done_here(i, &mut deliver);
                } else {
                    pool.submit(i);
                }
                if i == 0 {
                    pool.wait_one(&mut deliver);
                }
                pool.poll(&mut deliver);
            }
            pool.finish(&mut deliver);
        });
        assert_eq!(got, (0..200).collect::<Vec<u64>>());
    }
}
