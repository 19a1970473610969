/*
 * Where settings come from: command-line flags alone are enough, and a
 * flag beats the config file's line for the same key.
 */
#include <unistd.h>

#include "harness.h"

TestSuite(config, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

Test(config, flags_without_a_config_file)
{
	struct json	*status;

	harness_start_with("--package-file", harness.package_file,
	    "--profile", harness.profile, "--state-dir", harness.state_dir,
	    "--socket", harness.socket, "--debounce-ms", "50",
	    "--notify", "false", "--nix-flags", OFFLINE_NIX_FLAGS,
	    NULL);
	status = harness_wait_generation(1);
	cr_assert_str_eq(harness_string(status, "profile"), harness.profile);
	harness_assert_runs("bin/hello", "hello 2.12\n");
	harness_assert_nix_agrees();
}

Test(config, flags_beat_the_config_file)
{
	char	*config_socket = harness.socket;
	char	*profile = harness.profile;

	xasprintf(&harness.socket, "%s/flag.sock", harness.dir);
	xasprintf(&harness.profile, "%s/profiles/flag-profile", harness.dir);
	harness_start_with("--config", harness.config, "--socket",
	    harness.socket, "--profile", harness.profile, NULL);
	harness_wait_generation(1);
	cr_assert(access(config_socket, F_OK) == -1,
	    "profiled listens on the config file's socket too");
	cr_assert(access(profile, F_OK) == -1,
	    "profiled made the config file's profile too");
	harness_assert_runs("bin/hello", "hello 2.12\n");
	harness_assert_nix_agrees();
}
