//! The dependency graph: names resolved, self-edges and cycles refused, `completed` only on
//! oneshots, services ordered so that each dependency starts before its dependents
//! (declaration order among independent ones), edges to disabled services dropped.

use std::collections::HashMap;

use super::validate::{Partial, Validator};
use crate::supervisor::plan::{Condition, Dependency, ServiceId, ServiceName, ServiceSpec};

impl Validator<'_> {
    /// Resolves dependency names, rejects cycles and orders services so each dependency
    /// starts before its dependents (declaration order among independent services).
    pub(super) fn graph(
        &mut self,
        partials: Vec<Partial>,
    ) -> Option<(Vec<ServiceSpec>, Vec<ServiceName>)> {
        let index: HashMap<String, usize> = partials
            .iter()
            .enumerate()
            .map(|(i, p)| (p.spec.name.as_str().to_owned(), i))
            .collect();
        let mut edges: Vec<Vec<(usize, Condition)>> = vec![Vec::new(); partials.len()];
        for (i, p) in partials.iter().enumerate() {
            for (dep, cond, span) in &p.depends_on {
                let key = format!("services.{}.depends_on.{dep}", p.spec.name);
                match index.get(dep) {
                    None => {
                        self.problem(Some(span.clone()), key, format!("unknown service {dep:?}"))
                    }
                    Some(&j) if j == i => {
                        self.problem(Some(span.clone()), key, "a service cannot depend on itself")
                    }
                    Some(&j) => {
                        if *cond == Condition::Completed && !partials[j].spec.is_oneshot {
                            self.problem(
                                Some(span.clone()),
                                key,
                                format!(
                                    "{dep:?} is not a oneshot, so it never completes; use \"started\" or \"ready\""
                                ),
                            );
                        }
                        edges[i].push((j, *cond));
                    }
                }
            }
        }
        if let Some(cycle) = find_cycle(&edges) {
            let names: Vec<&str> = cycle
                .iter()
                .map(|&i| partials[i].spec.name.as_str())
                .collect();
            let first = cycle[0];
            self.problem(
                Some(partials[first].span.clone()),
                format!("services.{}.depends_on", names[0]),
                format!("dependency cycle: {}", names.join(" -> ")),
            );
        }
        if !self.problems.is_empty() {
            return None;
        }

        // Kahn's algorithm over enabled services; edges to disabled services are dropped
        // (an external database replaces the embedded one, say).
        let enabled: Vec<bool> = partials.iter().map(|p| p.is_enabled).collect();
        let mut order = Vec::new();
        let mut placed = vec![false; partials.len()];
        while order.len() < enabled.iter().filter(|e| **e).count() {
            let next = (0..partials.len()).find(|&i| {
                enabled[i] && !placed[i] && edges[i].iter().all(|&(j, _)| placed[j] || !enabled[j])
            })?;
            placed[next] = true;
            order.push(next);
        }
        let position: HashMap<usize, usize> =
            order.iter().enumerate().map(|(pos, &i)| (i, pos)).collect();
        let mut specs: Vec<Option<ServiceSpec>> =
            partials.into_iter().map(|p| Some(p.spec)).collect();
        let disabled = (0..specs.len())
            .filter(|&i| !enabled[i])
            .filter_map(|i| specs[i].take().map(|s| s.name))
            .collect();
        let services = order
            .iter()
            .map(|&i| {
                let mut spec = specs[i].take().expect("each service is placed once");
                spec.depends_on = edges[i]
                    .iter()
                    .filter_map(|&(j, condition)| {
                        position.get(&j).map(|&pos| Dependency {
                            on: ServiceId(pos),
                            condition,
                        })
                    })
                    .collect();
                spec
            })
            .collect();
        Some((services, disabled))
    }
}

/// Returns one dependency cycle (first node repeated at the end), if any.
fn find_cycle(edges: &[Vec<(usize, Condition)>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    fn visit(
        i: usize,
        edges: &[Vec<(usize, Condition)>],
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        marks[i] = Mark::OnStack;
        stack.push(i);
        for &(j, _) in &edges[i] {
            match marks[j] {
                Mark::OnStack => {
                    let start = stack.iter().position(|&s| s == j).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(j);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(j, edges, marks, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[i] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; edges.len()];
    for i in 0..edges.len() {
        if marks[i] == Mark::New {
            if let Some(c) = visit(i, edges, &mut marks, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}
