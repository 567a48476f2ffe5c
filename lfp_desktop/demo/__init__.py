"""The bundled demo: procedural training pictures, the demo training script and workspace.

`faces` renders the stylised cartoon faces the demo generator is trained on; `pictures`
renders non-face procedural pictures that stand in for images no generator made.
"""
