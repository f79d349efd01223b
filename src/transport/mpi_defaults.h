#pragma once
/// \file
/// carlo's one default for Open MPI, chosen before MPI_Init: on a job that runs on one node, and
/// only when the user chose no point-to-point layer, the ob1 pml (with Open MPI's shared-memory
/// transport). Selecting a pml probes UCX, OFI and PSM2 and costs about 0.2 s of every run's
/// start; on one node ob1 is Open MPI's own choice in the end, so nothing else changes.
/// docs/running.md, "Open MPI start-up". MPI-free: the decision is a pure function of the
/// environment and the parameter files' text, unit-tested without MPI.

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace carlo::transport {

/// An environment: the value of variable `name`, or std::nullopt when it is unset.
using Environment = std::function<std::optional<std::string>(std::string_view name)>;

/// What choose_pml decided, and why.
enum class PmlChoice {
  ob1,           ///< set OMPI_MCA_pml=ob1
  not_one_node,  ///< the launcher did not say "one node" (OMPI_COMM_WORLD_SIZE and
                 ///< OMPI_COMM_WORLD_LOCAL_SIZE absent, unreadable or different), and the
                 ///< process is no singleton (a launcher's or Slurm step's variable is set)
  user_env,      ///< OMPI_MCA_pml or OMPI_MCA_mtl is set, or a parameter-file set carlo does not
                 ///< read (mpirun -am / --tune) was given
  user_file,     ///< a parameter file chooses a pml or an mtl (file_chooses_pml)
  opted_out,     ///< CARLO_MPI_DEFAULTS=0
};

/// The MCA parameter files Open MPI 4 reads in MPI_Init, for the environment `env`: the
/// comma-separated list OMPI_MCA_mca_base_param_files when set, else
/// $HOME/.openmpi/mca-params.conf (without HOME, none) and SYSCONFDIR/openmpi-mca-params.conf;
/// then the override file SYSCONFDIR/openmpi-mca-params-override.conf. `sysconfdir` is Open MPI's
/// (OPAL_SYSCONFDIR in `env` replaces it, as it does for Open MPI); a leading "~/" of a listed
/// file is expanded with HOME. Files that do not exist are in the list (Open MPI skips them).
std::vector<std::string> mca_param_files(const Environment& env, const std::string& sysconfdir);

/// Whether the text of one MCA parameter file chooses the pml or an mtl: a line `pml = VALUE` or
/// `mtl = VALUE` (spaces optional, `#` lines are comments) whose VALUE is not an exclusion list;
/// any such line counts. An exclusion list ("^ucx", Debian's own file) leaves the
/// choice to Open MPI and so does not count, unless it excludes ob1.
bool file_chooses_pml(std::string_view text);

/// The decision, pure: ob1 when the launcher says every rank is on this node (equal
/// OMPI_COMM_WORLD_SIZE and OMPI_COMM_WORLD_LOCAL_SIZE) or no launcher started the process (a
/// singleton: no variable of mpirun, PMIx, PMI or a Slurm step), neither OMPI_MCA_pml nor
/// OMPI_MCA_mtl is set, no parameter file chooses either (`param_file_texts`: the text of each file
/// of mca_param_files that could be read), and CARLO_MPI_DEFAULTS is not "0".
PmlChoice choose_pml(const Environment& env, std::span<const std::string> param_file_texts);

/// Not pure: reads this process's environment and Open MPI's parameter files and, when
/// choose_pml says ob1, sets OMPI_MCA_pml=ob1 (never replacing a value). Call before MPI_Init;
/// not thread-safe (setenv). Returns the decision.
PmlChoice apply_mpi_defaults();

}  // namespace carlo::transport
