// The carlo executable: everything lives in the library.
#include "cli/cli.h"

int main(int argc, char** argv) { return carlo::cli::main(argc, argv); }
