#pragma once
/// \file
/// The sample simulations shipped with carlo (DESIGN §5) and the failure-injection simulation used
/// by the tests.
#include <carlo/simulation.h>

namespace carlo::sims {

/// Registers `pi`, `bootstrap`, `faults`, `walk` and `slab`.
void register_builtin(Registry& registry);

SimulationInfo pi_info();
SimulationInfo bootstrap_info();
/// `faults`: a test aid. Observation `value` = the task's first uniform draw, `task` = its id;
/// tally `hits` counts tasks per id % 16. Options make chosen tasks throw (always, or on their
/// first attempts), throw with a probability per attempt, or sleep.
SimulationInfo faults_info();
/// `walk` (DESIGN §5): random-walk PageRank over a graph file (integer neighbour ids); tally
/// `visits` (one bin per node), observation `steps` (visits recorded by the task).
SimulationInfo walk_info();
/// `slab` (DESIGN §5): particle transport through a 1-D slab; vector observation `fate`
/// (transmitted, reflected, absorbed fractions), float64 tally `flux` (track length per bin).
SimulationInfo slab_info();

}  // namespace carlo::sims
