/** The bundled CLI's entry point (scripts/cli-bundle.ts): runs the command line and sets the exit status. */
import { runCli } from './main';

// exec and run set the status of the command they ran.
void runCli(process.argv.slice(2)).then((code) => { if (code !== 0) process.exitCode = code; });
