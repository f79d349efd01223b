// carlo's Open MPI default (src/transport/mpi_defaults.h): ob1 on one node unless the user chose
// a pml or an mtl, in the environment or in a parameter file, or opted out.
#include "transport/mpi_defaults.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace carlo::transport {
namespace {

using Vars = std::map<std::string, std::string, std::less<>>;

Environment environment(Vars vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// What mpirun -n 2 on one node puts in each rank's environment.
Vars one_node() { return {{"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}; }

// Debian 12's own /etc/openmpi/openmpi-mca-params.conf (its settings, comments shortened).
const std::string kDebianFile =
    "# Silence this warning on Debian\n"
    "btl_base_warn_component_unused=0\n"
    "mtl = ^ofi\n"
    "btl = ^uct,openib,ofi\n"
    "pml = ^ucx\n"
    "osc = ^ucx,pt2pt\n";

PmlChoice choose(const Vars& vars, std::vector<std::string> files = {}) {
  return choose_pml(environment(vars), files);
}

TEST(MpiDefaults, OneNodeWithNothingChosenGetsOb1) {
  EXPECT_EQ(choose(one_node()), PmlChoice::ob1);
  EXPECT_EQ(choose(one_node(), {kDebianFile}), PmlChoice::ob1);
}

TEST(MpiDefaults, TwoNodesAreLeftAlone) {
  auto vars = one_node();
  vars["OMPI_COMM_WORLD_SIZE"] = "4";  // 2 of the 4 ranks on this node
  EXPECT_EQ(choose(vars), PmlChoice::not_one_node);
}

TEST(MpiDefaults, WithoutTheLauncherSizesNothingIsSet) {
  // Started by srun, Flux or another PMI(x) launcher, or in a Slurm step: left alone.
  for (const char* name :
       {"PMIX_RANK", "PMIX_NAMESPACE", "PMI_RANK", "PMI_SIZE", "PMI_FD", "SLURM_STEP_ID"})
    EXPECT_EQ(choose({{name, "0"}}), PmlChoice::not_one_node) << name;
  EXPECT_EQ(choose({{"OMPI_COMM_WORLD_SIZE", "2"}}), PmlChoice::not_one_node);
  EXPECT_EQ(choose({{"OMPI_COMM_WORLD_RANK", "0"}}), PmlChoice::not_one_node);
  EXPECT_EQ(choose({{"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "two"}}),
            PmlChoice::not_one_node);
  EXPECT_EQ(choose({{"OMPI_COMM_WORLD_SIZE", "0"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "0"}}),
            PmlChoice::not_one_node);
}

// No launcher at all: Open MPI runs the process as a singleton, a world of one on one node.
TEST(MpiDefaults, ASingletonGetsOb1UnlessTheUserChose) {
  EXPECT_EQ(choose({}), PmlChoice::ob1);
  EXPECT_EQ(choose({{"SLURM_JOB_ID", "7"}}), PmlChoice::ob1);  // a batch script, no step
  EXPECT_EQ(choose({{"OMPI_MCA_pml", "cm"}}), PmlChoice::user_env);
  EXPECT_EQ(choose({{"CARLO_MPI_DEFAULTS", "0"}}), PmlChoice::opted_out);
}

TEST(MpiDefaults, APmlOrMtlInTheEnvironmentIsTheUsersChoice) {
  for (const char* name : {"OMPI_MCA_pml", "OMPI_MCA_mtl"}) {
    auto vars = one_node();
    vars[name] = "^ucx";  // even an exclusion: the variable would hide a file's value
    EXPECT_EQ(choose(vars), PmlChoice::user_env) << name;
  }
}

TEST(MpiDefaults, ParameterFileSetsCarloDoesNotReadAreTheUsersChoice) {
  for (const char* name :
       {"OMPI_MCA_mca_base_param_file_prefix", "OMPI_MCA_mca_base_envar_file_prefix"}) {
    auto vars = one_node();
    vars[name] = "/home/me/tuned.conf";  // mpirun -am FILE, mpirun --tune FILE
    EXPECT_EQ(choose(vars), PmlChoice::user_env) << name;
  }
}

TEST(MpiDefaults, APmlOrMtlChosenInAFileIsTheUsersChoice) {
  EXPECT_EQ(choose(one_node(), {kDebianFile, "pml = ucx\n"}), PmlChoice::user_file);
  EXPECT_EQ(choose(one_node(), {"# mine\n  mtl=psm2  \n", kDebianFile}), PmlChoice::user_file);
  EXPECT_EQ(choose(one_node(), {"pml = cm,ob1"}), PmlChoice::user_file);  // no final newline
}

TEST(MpiDefaults, AnExclusionListInAFileCountsOnlyWhenItExcludesOb1) {
  EXPECT_FALSE(file_chooses_pml("pml = ^ucx\nmtl = ^ofi,psm2\n"));
  EXPECT_TRUE(file_chooses_pml("pml = ^ucx, ob1\n"));
  EXPECT_TRUE(file_chooses_pml("pml=^ob1"));
}

TEST(MpiDefaults, CommentsAndOtherParametersChooseNothing) {
  EXPECT_FALSE(file_chooses_pml("# pml = ucx\n   # mtl = psm2\n"));
  EXPECT_FALSE(file_chooses_pml("pml_base_verbose = 10\nbtl = self,vader\nmtl_ofi_provider = x\n"));
  EXPECT_FALSE(file_chooses_pml(""));
}

TEST(MpiDefaults, CarloMpiDefaultsZeroOptsOut) {
  auto vars = one_node();
  vars["CARLO_MPI_DEFAULTS"] = "0";
  EXPECT_EQ(choose(vars), PmlChoice::opted_out);
  vars["CARLO_MPI_DEFAULTS"] = "1";
  EXPECT_EQ(choose(vars), PmlChoice::ob1);
}

TEST(MpiDefaults, ParameterFilesAreOpenMpisDefaultsUnlessTheUserListsThem) {
  const std::string etc = "/etc/openmpi";
  EXPECT_EQ(mca_param_files(environment({{"HOME", "/home/me"}}), etc),
            (std::vector<std::string>{"/home/me/.openmpi/mca-params.conf",
                                      "/etc/openmpi/openmpi-mca-params.conf",
                                      "/etc/openmpi/openmpi-mca-params-override.conf"}));
  EXPECT_EQ(mca_param_files(environment({}), etc),
            (std::vector<std::string>{"/etc/openmpi/openmpi-mca-params.conf",
                                      "/etc/openmpi/openmpi-mca-params-override.conf"}));
  const Vars listed = {{"HOME", "/home/me"},
                       {"OMPI_MCA_mca_base_param_files", "~/a.conf, /b.conf"},
                       {"OPAL_SYSCONFDIR", "/opt/ompi/etc"}};
  EXPECT_EQ(mca_param_files(environment(listed), etc),
            (std::vector<std::string>{"/home/me/a.conf", "/b.conf",
                                      "/opt/ompi/etc/openmpi-mca-params-override.conf"}));
}

}  // namespace
}  // namespace carlo::transport
