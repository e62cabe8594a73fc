package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/neuralstyle/neuralstyle/internal/weights"
)

// newWeightsCommand is "neuralstyle weights": download, verify and locate
// the VGG-19 network.
func newWeightsCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "weights",
		Short: "Download, verify and locate the VGG-19 weights",
		Long: `The VGG-19 network is read from MatConvNet .mat, Caffe .caffemodel, PyTorch .pth
or .safetensors files, recognised by their content. Without --network a run looks
for ./` + weights.DefaultName + `, then $` + weights.EnvNetwork + `, then the data folder,
where 'neuralstyle weights download' puts the official file.`,
		Args:          usageArgs(cobra.NoArgs),
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	// The subcommands' results go through out; a failed write fails the
	// command once its work is done (PersistentPostRunE runs after RunE).
	out := &resultWriter{w: stdout}
	cmd.PersistentPostRunE = func(*cobra.Command, []string) error { return out.check() }
	// Help and usage go through the root command's writer, which Main
	// checks the same way.
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cmd.AddCommand(newWeightsDownload(out, stderr), newWeightsVerify(out), newWeightsPath(out))
	return cmd
}

// usageArgs makes an argument-count error a usage error (exit status 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func newWeightsDownload(stdout, stderr io.Writer) *cobra.Command {
	var o weights.DownloadOptions
	cmd := &cobra.Command{
		Use:   "download [--to DIR] [--url URL] [--sha256 HEX]",
		Short: "Fetch " + weights.DefaultName + " into the data folder (resumable, verified)",
		Example: `  neuralstyle weights download
  neuralstyle weights download --to ./models
  neuralstyle weights download --url https://mirror.example/vgg19.mat --sha256 abdb5716...`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.SHA256 != "" {
				if _, err := weights.NormalizeSHA256(o.SHA256); err != nil {
					return usageError{err}
				}
			}
			if o.Dir == "" {
				dir, err := weights.DataDir()
				if err != nil {
					return fmt.Errorf("no data folder (%w); give one with --to DIR", err)
				}
				o.Dir = dir
			}
			url := o.URL
			if url == "" {
				url = weights.OfficialURL
			}
			fmt.Fprintf(stderr, "neuralstyle: downloading %s\n  into %s\n", url, filepath.Join(o.Dir, weights.DefaultName))
			p := weights.NewProgress(stderr, isTerminal(stderr))
			o.Progress = p.Update
			res, err := weights.Download(cmd.Context(), o)
			p.Finish()
			if err != nil {
				var me *weights.MismatchError
				if errors.As(err, &me) {
					return fmt.Errorf("downloaded file has SHA-256 %s, want %s: removed it (a wrong --url or --sha256, or a damaged mirror)", me.Got.SHA256, me.Want)
				}
				return err
			}
			if res.AlreadyThere {
				fmt.Fprintf(stdout, "%s is already there and verified (%d bytes)\n", res.Path, res.Bytes)
			} else {
				fmt.Fprintf(stdout, "%s: downloaded and verified (%d bytes)\n", res.Path, res.Bytes)
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	f := cmd.Flags()
	f.StringVar(&o.Dir, "to", "", "folder to download into (default: the data folder, see 'neuralstyle weights path')")
	f.StringVar(&o.URL, "url", "", "URL to fetch (default "+weights.OfficialURL+")")
	f.StringVar(&o.SHA256, "sha256", "", "expected SHA-256 of the file (default the official file's)")
	return cmd
}

func newWeightsVerify(stdout io.Writer) *cobra.Command {
	var sha string
	cmd := &cobra.Command{
		Use:   "verify FILE [--sha256 HEX]",
		Short: "Check a network file's SHA-256 against a hash or the official files",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sha != "" {
				if _, err := weights.NormalizeSHA256(sha); err != nil {
					return usageError{err}
				}
			}
			path := args[0]
			known, sums, err := weights.Verify(cmd.Context(), path, sha)
			var me *weights.MismatchError
			if errors.As(err, &me) && sha == "" {
				// Only the official .mat files have known checksums here:
				// say at least whether the file is a network that loads.
				if format, ferr := weights.SniffFile(path); ferr == nil && format != weights.FormatMat {
					if _, lerr := weights.Load(path); lerr == nil {
						fmt.Fprintf(stdout, "%s: a VGG-19 in %s format that loads, but with no official checksum to compare; check it with --sha256 HEX\n", path, format)
					}
				}
			}
			if err != nil {
				return err
			}
			switch {
			case known != nil:
				fmt.Fprintf(stdout, "%s: OK, the official %s\n  SHA-256 %s, MD5 %s, %d bytes\n", path, known.Name, sums.SHA256, sums.MD5, sums.Size)
			default:
				fmt.Fprintf(stdout, "%s: OK, SHA-256 %s as given (%d bytes)\n", path, sums.SHA256, sums.Size)
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cmd.Flags().StringVar(&sha, "sha256", "", "expected SHA-256 (default: compare with the known official files)")
	return cmd
}

func newWeightsPath(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "path",
		Short: "Show where the network is looked for, and which file a run would use",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			found, _, err := weights.Find(weights.DefaultName, false)
			var nf *weights.NotFoundError
			if err != nil && !errors.As(err, &nf) {
				return err
			}
			fmt.Fprintln(stdout, "Without --network, the network is looked for in order at:")
			for _, p := range weights.SearchPath(weights.DefaultName) {
				mark := "  "
				if p == found {
					mark = "* "
				} else if _, err := os.Stat(p); err != nil {
					mark = "- "
				}
				fmt.Fprintf(stdout, "  %s%s\n", mark, p)
			}
			if found != "" {
				fmt.Fprintf(stdout, "A run would use %s (marked *).\n", found)
				return nil
			}
			fmt.Fprintf(stdout, "None exists (marked -). Run '%s' to fetch the official file into the data folder.\n", weights.DownloadCommand)
			return nil
		},
	}
}
