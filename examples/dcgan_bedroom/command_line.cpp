#include "command_line.h"

#include <CLI/CLI.hpp>

namespace dcgan {

Command parse_command_line(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
    Command command;
    TrainOptions& o = command.train;
    CLI::App app{"DCGAN training on libganops, with pytorch/examples/dcgan's options. Subcommands work on a trained generator."};
    app.add_option("--dataset", o.dataset, "lsun | folder | imagenet (a folder) | fashion-mnist | mnist | idx | fake")
        ->check(CLI::IsMember({"lsun", "folder", "imagenet", "fashion-mnist", "mnist", "idx", "fake"}))
        ->capture_default_str();
    app.add_option("--dataroot", o.dataroot,
                   "path to the dataset: an image folder; for lsun the folder holding <class>_train_lmdb (or an LMDB "
                   "itself); for IDX data the folder or the file")
        ->capture_default_str();
    app.add_option("--classes", o.classes, "LSUN classes, comma separated")->capture_default_str();
    app.add_option("--workers", o.workers, "data loading threads")->check(CLI::Range(1, 256))->capture_default_str();
    app.add_option("--batchSize", o.batch_size, "input batch size")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--imageSize", o.image_size, "height and width of the images: 32, 64, 128 or 256")
        ->check(CLI::IsMember({32, 64, 128, 256}))
        ->capture_default_str();
    app.add_option("--nc", o.nc, "image channels, 1 or 3 (default: 1 for IDX data, else 3)")->check(CLI::IsMember({1, 3}));
    app.add_option("--nz", o.nz, "size of the latent z vector")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--ngf", o.ngf, "generator width")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--ndf", o.ndf, "discriminator width")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--niter", o.niter, "number of epochs to train for")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--lr", o.lr, "learning rate")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--beta1", o.beta1, "Adam beta1")->check(CLI::Range(0.0, 0.999999))->capture_default_str();
    app.add_option("--netG", o.netG, "generator weights to start from (safetensors)");
    app.add_option("--netD", o.netD, "discriminator weights to start from (safetensors)");
    app.add_option("--resume", o.resume, "continue the run saved in this checkpoint.safetensors");
    app.add_option("--outf", o.outf, "output folder: sample grids, log, loss plot, checkpoints")->capture_default_str();
    app.add_option("--manualSeed", o.seed, "seed")->capture_default_str();
    app.add_option("--device", o.device, "cuda or cpu (default: cuda when a GPU is there)")->check(CLI::IsMember({"cuda", "cpu"}));
    app.add_option("--precision", o.precision,
                   "CUDA convolutions: fp32 (strict), tf32 (tensor cores, the default on a GPU), bf16, or fp32-accurate "
                   "(3xTF32); the CPU computes in fp32 (default: a resumed run's own, else tf32)")
        ->check(CLI::IsMember({"fp32", "tf32", "bf16", "fp32-accurate"}));
    app.add_flag("--dry-run", o.dry_run, "check that a single training iteration works");
    app.add_option("--max-iters", o.max_iters, "stop after this many iterations in all (0: every epoch)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--sample-every", o.sample_every, "write a sample grid every N iterations (0: only at epoch ends)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--log-format", o.log_format, "csv or jsonl")->check(CLI::IsMember({"csv", "jsonl"}))->capture_default_str();
    app.add_option("--fake-images", o.fake_images, "size of the fake dataset (default: 20 batches)")
        ->check(CLI::Range(int64_t(0), int64_t(100000000)));
    app.add_option("--label-smoothing", o.label_smoothing, "one-sided: D's real target is 1 - this")->check(CLI::Range(0.0, 0.5));
    app.add_option("--label-flip", o.label_flip, "probability of flipping a target in D's step")->check(CLI::Range(0.0, 0.5));
    app.add_option("--instance-noise", o.instance_noise, "std of Gaussian noise on D's inputs, annealed to 0")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--d-dropout", o.d_dropout, "dropout probability after D's LeakyReLUs")->check(CLI::Range(0.0, 0.9));
    app.add_option("--d-steps", o.d_steps, "discriminator steps per generator step")->check(CLI::PositiveNumber);
    app.add_flag("--feature-matching", o.feature_matching,
                 "generator loss: match the batch mean of D's last hidden features on real data (Salimans et al. 2016)");
    app.add_flag("--channels-last,!--no-channels-last", o.channels_last,
                 "activations in NHWC order inside the nets (default: on for --device cuda in tf32 and bf16, off otherwise)");
    app.add_flag("!--no-cuda-graph", o.cuda_graph,
                 "run every iteration eagerly instead of replaying it as a captured CUDA graph (GPU only)");

    app.add_flag("--distributed", o.distributed,
                 "data-parallel over the processes of `mpirun -np N` (--batchSize is the global batch, split over them)");
    app.add_flag("--sync-bn", o.sync_bn, "with --distributed: batchnorm statistics over the global batch (default: per rank)");
    app.add_option("--dist-backend", o.dist_backend, "with --distributed: auto (NCCL for GPU tensors when built in), mpi, nccl")
        ->check(CLI::IsMember({"auto", "mpi", "nccl"}))
        ->capture_default_str();

    ToolOptions& t = command.tool;
    auto tool_options = [&](CLI::App* sub) {
        sub->add_option("--netG", t.netG, "generator: netG_*.safetensors or checkpoint.safetensors")->required();
        sub->add_option("--outf", t.outf, "output folder")->capture_default_str();
        sub->add_option("--seed", t.seed, "seed of the latent vectors")->capture_default_str();
        sub->add_option("--device", t.device, "cuda or cpu")->check(CLI::IsMember({"cuda", "cpu"}));
    };
    CLI::App* gen = app.add_subcommand("generate", "sample N images from a trained generator");
    tool_options(gen);
    gen->add_option("--n", t.n, "number of images")->check(CLI::Range(1, 100000))->capture_default_str();
    gen->add_flag("--individual", t.individual, "one PNG per image (generated_0000.png, ...) instead of a grid");
    CLI::App* interp = app.add_subcommand("interpolate", "walks between random latent vectors, one per row");
    tool_options(interp);
    interp->add_option("--rows", t.rows, "number of walks")->check(CLI::Range(1, 64))->capture_default_str();
    interp->add_option("--steps", t.steps, "images per walk")->check(CLI::Range(2, 64))->capture_default_str();
    interp->add_flag("--slerp", t.slerp, "spherical instead of linear interpolation");
    CLI::App* arith = app.add_subcommand("arithmetic", "latent arithmetic mean(A) - mean(B) + mean(C), indices as in generate");
    tool_options(arith);
    arith->add_option("--a", t.a, "latent indices of concept A, e.g. 3,17,42")->required();
    arith->add_option("--b", t.b, "latent indices of concept B")->required();
    arith->add_option("--c", t.c, "latent indices of concept C")->required();
    CLI::App* eval = app.add_subcommand("evaluate", "sample quality of a trained generator: Frechet distance and class coverage");
    tool_options(eval);
    eval->add_option("--classifier", t.classifier, "a fashion_classifier .safetensors")->required();
    eval->add_option("--n", t.n, "number of generated and real images (at most 10000)")->check(CLI::Range(2, 10000))
        ->capture_default_str();
    eval->add_option("--eval-dataroot", t.eval_dataroot, "Fashion-MNIST folder for the real test images")->capture_default_str();
    app.add_option("--classifier", o.classifier, "a fashion_classifier .safetensors: report sample quality at the end");
    app.add_option("--eval-samples", o.eval_samples, "generated images for that report")->check(CLI::Range(2, 10000))
        ->capture_default_str();
    app.require_subcommand(0, 1);


    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        command.kind = Command::Kind::Exit;
        command.exit_code = app.exit(e, out, err);
        return command;
    }
    if (gen->parsed()) command.kind = Command::Kind::Generate;
    else if (interp->parsed()) command.kind = Command::Kind::Interpolate;
    else if (arith->parsed()) command.kind = Command::Kind::Arithmetic;
    else if (eval->parsed()) command.kind = Command::Kind::Evaluate;
    return command;
}

}  // namespace dcgan
