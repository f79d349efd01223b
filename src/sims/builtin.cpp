#include "sims/builtin.h"

namespace carlo::sims {

void register_builtin(Registry& registry) {
  registry.add(pi_info());
  registry.add(bootstrap_info());
  registry.add(faults_info());
  registry.add(walk_info());
  registry.add(slab_info());
}

}  // namespace carlo::sims
