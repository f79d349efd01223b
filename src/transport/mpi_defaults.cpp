// carlo's Open MPI default (mpi_defaults.h): ob1 on one node when the user chose no pml or mtl.

#include "transport/mpi_defaults.h"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iterator>

namespace carlo::transport {

namespace {

// Open MPI's parameter files as installed (CMake asks `ompi_info --path sysconfdir`); empty when
// the MPI is not Open MPI, which never sets the launcher variables choose_pml needs anyway.
#ifdef CARLO_OMPI_SYSCONFDIR
constexpr const char* kSysconfdir = CARLO_OMPI_SYSCONFDIR;
#else
constexpr const char* kSysconfdir = "";
#endif

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::optional<long long> positive(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  const std::string_view digits = trim(*text);
  long long value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value <= 0) return std::nullopt;
  return value;
}

bool is_set(const Environment& env, std::string_view name) { return env(name).has_value(); }

// No launcher started this process: no variable of Open MPI's mpirun, of a PMIx or PMI server
// (srun, Flux, ...), nor of a Slurm job step. Open MPI then runs it as a singleton, a world of
// one process, which is on one node.
bool singleton(const Environment& env) {
  for (std::string_view name :
       {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK",
        "PMIX_NAMESPACE", "PMI_RANK", "PMI_SIZE", "PMI_FD", "SLURM_STEP_ID"})
    if (is_set(env, name)) return false;
  return true;
}

bool non_empty(const Environment& env, std::string_view name) {
  const auto value = env(name);
  return value && !trim(*value).empty();
}

// "^a,b": an exclusion list; does it spare ob1?
bool excludes_ob1(std::string_view list) {
  list.remove_prefix(1);
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (trim(list.substr(0, comma)) == "ob1") return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool line_chooses(std::string_view line) {
  line = trim(line);
  if (line.empty() || line.front() == '#') return false;
  const auto equals = line.find('=');
  if (equals == std::string_view::npos) return false;
  const std::string_view name = trim(line.substr(0, equals));
  const std::string_view value = trim(line.substr(equals + 1));
  if (name != "pml" && name != "mtl") return false;
  if (value.empty() || value.front() != '^') return true;
  return name == "pml" && excludes_ob1(value);
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

std::vector<std::string> mca_param_files(const Environment& env, const std::string& sysconfdir) {
  const auto home = env("HOME");
  const std::string etc = env("OPAL_SYSCONFDIR").value_or(sysconfdir);
  std::vector<std::string> files;
  if (const auto list = env("OMPI_MCA_mca_base_param_files")) {
    std::string_view rest = *list;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view file = trim(rest.substr(0, comma));
      if (file.starts_with("~/") && home) files.push_back(*home + std::string(file.substr(1)));
      else if (!file.empty()) files.emplace_back(file);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  } else {
    if (home) files.push_back(*home + "/.openmpi/mca-params.conf");
    if (!etc.empty()) files.push_back(etc + "/openmpi-mca-params.conf");
  }
  if (!etc.empty()) files.push_back(etc + "/openmpi-mca-params-override.conf");
  return files;
}

bool file_chooses_pml(std::string_view text) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    if (line_chooses(text.substr(0, end))) return true;
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return false;
}

PmlChoice choose_pml(const Environment& env, std::span<const std::string> param_file_texts) {
  if (env("CARLO_MPI_DEFAULTS") == "0") return PmlChoice::opted_out;
  const auto world = positive(env("OMPI_COMM_WORLD_SIZE"));
  const auto local = positive(env("OMPI_COMM_WORLD_LOCAL_SIZE"));
  if ((!world || !local || *world != *local) && !singleton(env)) return PmlChoice::not_one_node;
  if (is_set(env, "OMPI_MCA_pml") || is_set(env, "OMPI_MCA_mtl") ||
      non_empty(env, "OMPI_MCA_mca_base_param_file_prefix") ||
      non_empty(env, "OMPI_MCA_mca_base_envar_file_prefix"))
    return PmlChoice::user_env;
  for (const auto& text : param_file_texts)
    if (file_chooses_pml(text)) return PmlChoice::user_file;
  return PmlChoice::ob1;
}

PmlChoice apply_mpi_defaults() {
  const Environment env = [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  // The environment alone rules most cases out: read no file then (a multi-node job).
  if (const auto choice = choose_pml(env, {}); choice != PmlChoice::ob1) return choice;
  std::vector<std::string> texts;
  for (const auto& path : mca_param_files(env, kSysconfdir))
    if (auto text = read_text(path)) texts.push_back(std::move(*text));
  const auto choice = choose_pml(env, texts);
  if (choice == PmlChoice::ob1) setenv("OMPI_MCA_pml", "ob1", 0);
  return choice;
}

}  // namespace carlo::transport
