"""The DR2 method: diffusion UNet, schedule, DR2 sampler, training, enhancer chaining."""
