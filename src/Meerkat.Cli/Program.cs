// The meerkat command: every command is built in its own file under Commands/ and listed in
// CommandLine/CommandList.cs; CommandLine/Cli.cs parses and runs them.
return Meerkat.Cli.CommandLine.MeerkatCommand.Run(args);
