"""The Panda3D explorer: draws the simulation in sim/ and routes input to it."""
