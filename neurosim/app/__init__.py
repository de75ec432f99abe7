"""The application layer: experiments run end to end (build -> simulate -> score -> quantise ->
map -> report) on top of the simulator and the mapper."""
