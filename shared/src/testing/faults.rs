//! Crash injection for the in-memory adapters: the n-th port call (counted across every adapter
//! sharing one [`Faults`]) fails before it does anything, or after it has done its work (as when
//! the answer is lost). Every call is journaled, so a test can tell what a fault interrupted.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::error::{BackendError, Retry};

/// Where a call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing is done; the caller sees a transient failure.
    Before,
    /// The work is done, but the caller sees a transient failure (a lost answer, a crash right
    /// after the write).
    After,
}

/// One port call, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub name: &'static str,
    pub fault: Option<Fault>,
}

#[derive(Debug, Default)]
struct State {
    plan: BTreeMap<usize, Fault>,
    journal: Vec<Call>,
}

/// The fault plan shared by a set of adapters.
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<State>,
}

/// What a call is to do, from [`Faults::enter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    fault: Option<Fault>,
    name: &'static str,
}

impl Step {
    pub fn fails_before(&self) -> bool {
        self.fault == Some(Fault::Before)
    }

    pub fn fails_after(&self) -> bool {
        self.fault == Some(Fault::After)
    }

    /// `Err` when the call is to fail before doing anything.
    pub fn before(&self) -> Result<(), BackendError> {
        match self.fault {
            Some(Fault::Before) => Err(injected(self.name)),
            _ => Ok(()),
        }
    }

    /// The call's own result, or an injected failure when it is to fail after its work (a
    /// call that failed by itself fails as it did).
    pub fn after<T, E: From<BackendError>>(&self, result: Result<T, E>) -> Result<T, E> {
        match (self.fault, result) {
            (Some(Fault::After), Ok(_)) => Err(injected(self.name).into()),
            (_, result) => result,
        }
    }
}

fn injected(name: &'static str) -> BackendError {
    BackendError::message(name, Retry::Transient, "injected fault")
}

impl Faults {
    /// Calls `n` (0-based, in call order) fail as planned.
    pub fn planned(plan: impl IntoIterator<Item = (usize, Fault)>) -> Faults {
        Faults {
            state: Mutex::new(State {
                plan: plan.into_iter().collect(),
                journal: Vec::new(),
            }),
        }
    }

    /// Called by an adapter as a call starts: what the call is to do.
    pub fn enter(&self, name: &'static str) -> Step {
        let mut state = self.state.lock().unwrap();
        let n = state.journal.len();
        let fault = state.plan.remove(&n);
        state.journal.push(Call { name, fault });
        Step { fault, name }
    }

    /// Every call so far, in order.
    pub fn journal(&self) -> Vec<Call> {
        self.state.lock().unwrap().journal.clone()
    }

    /// How many faults were injected so far.
    pub fn injected(&self) -> usize {
        self.journal().iter().filter(|c| c.fault.is_some()).count()
    }

    /// Faults planned but not reached yet are dropped: the rest runs without failures.
    pub fn stop(&self) {
        self.state.lock().unwrap().plan.clear();
    }
}
